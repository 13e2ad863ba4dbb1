using StackExchange.Redis;

namespace Dashboard.Redis;

/// <summary>
/// This process's one connection to Redis (<c>ConnectionStrings:Redis</c>), opened on first use and shared by the event
/// relay and the Data Protection key ring. It never refuses to start for want of Redis: the multiplexer keeps trying in
/// the background, and what needs Redis meanwhile fails fast instead of waiting.
/// </summary>
public sealed class RedisLink(string configuration) : IAsyncDisposable
{
    /// <summary>The pub/sub channel of training events.</summary>
    public static readonly RedisChannel EventChannel = RedisChannel.Literal("dashboard:events");

    private readonly SemaphoreSlim _gate = new(1, 1);
    private ConnectionMultiplexer? _connection;

    /// <summary>Tells this process's messages from the others' (a process skips its own when they come back).</summary>
    public string Origin { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    public RedisChannel Channel => EventChannel;

    /// <summary>The options every connection of the dashboard uses (the SignalR backplane opens its own with these).</summary>
    public static ConfigurationOptions Options(string configuration)
    {
        var options = ConfigurationOptions.Parse(configuration);
        options.AbortOnConnectFail = false;
        options.ClientName ??= "dashboard";

        // Commands issued while disconnected fail at once rather than queueing: the relay counts them as dropped and
        // training never waits on Redis.
        options.BacklogPolicy = BacklogPolicy.FailFast;

        // A restarted Redis is found again within a second or so, not after an exponential wait.
        options.ReconnectRetryPolicy = new LinearRetry(500);
        return options;
    }

    public async Task<IConnectionMultiplexer> ConnectAsync(CancellationToken cancellationToken = default)
    {
        if (_connection is { } open)
        {
            return open;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            return _connection ??= await ConnectionMultiplexer.ConnectAsync(Options(configuration));
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>For callers that cannot await (the Data Protection key ring asks for a database synchronously).</summary>
    public IConnectionMultiplexer Connect() => ConnectAsync().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        if (_connection is { } connection)
        {
            await connection.CloseAsync();
            await connection.DisposeAsync();
        }

        _gate.Dispose();
    }
}
