using System.Globalization;
using Dashboard.ServerProcess;

namespace Dashboard.Bench;

/// <summary>
/// The distributed mode as an operator runs it, all real processes on loopback: a private PostgreSQL cluster and Redis,
/// two web instances (A and B) that only queue (<c>Training:EmbeddedWorker=false</c>), and training workers
/// (<c>src/Dashboard.Worker</c>, one run at a time each) sharing A's data folder, with a short failover time.
/// </summary>
internal sealed class DistributedDeployment : IAsyncDisposable
{
    /// <summary><c>Training:FailoverSeconds</c> here: short, so figure 7b waits seconds rather than the default minute.</summary>
    public const int FailoverSeconds = 6;

    private readonly PostgresCluster _cluster;
    private readonly RedisServer _redis;
    private readonly Dictionary<string, string> _shared = [];
    private readonly List<DashboardWorker> _workers = [];
    private DashboardServer? _a;
    private DashboardServer? _b;

    private DistributedDeployment(PostgresCluster cluster, RedisServer redis)
    {
        _cluster = cluster;
        _redis = redis;
    }

    /// <summary>Why the distributed mode cannot be started here, or null when it can.</summary>
    public static string? Unavailable => PostgresCluster.Unavailable ?? RedisServer.Unavailable;

    /// <summary>The instance runs are created through, whose data folder the workers share.</summary>
    public DashboardServer A => _a ?? throw new InvalidOperationException("Web instance A has not started.");

    /// <summary>The other instance: its hub clients hear of a worker's epochs only through Redis.</summary>
    public DashboardServer B => _b ?? throw new InvalidOperationException("Web instance B has not started.");

    public IReadOnlyList<DashboardWorker> LiveWorkers => [.. _workers.Where(w => w.IsRunning)];

    public static async Task<DistributedDeployment> StartAsync(string workDirectory, CancellationToken cancellationToken)
    {
        var cluster = await PostgresCluster.StartAsync(PostgresCluster.FindBinaries() ?? throw new InvalidOperationException(PostgresCluster.Unavailable), durable: true, cancellationToken);
        RedisServer redis;
        try
        {
            redis = await RedisServer.StartAsync(cancellationToken);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        var deployment = new DistributedDeployment(cluster, redis);
        try
        {
            deployment._shared["Storage:Provider"] = "postgres";
            deployment._shared["ConnectionStrings:Postgres"] = await cluster.CreateDatabaseAsync("bench", cancellationToken);
            deployment._shared["ConnectionStrings:Redis"] = redis.ConnectionString;
            deployment._shared["Training:FailoverSeconds"] = FailoverSeconds.ToString(CultureInfo.InvariantCulture);

            // One at a time: both migrate and reconcile the same database on start.
            var web = new Dictionary<string, string>(deployment._shared) { ["Training:EmbeddedWorker"] = "false" };
            deployment._a = await DashboardServer.StartAsync(Path.Combine(workDirectory, "web-a"), cancellationToken, web);
            deployment._b = await DashboardServer.StartAsync(Path.Combine(workDirectory, "web-b"), cancellationToken, web);
            return deployment;
        }
        catch
        {
            await deployment.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts a worker on the default queue, one run at a time, on A's data folder (the shared checkpoints).</summary>
    public async Task<DashboardWorker> StartWorkerAsync(string name, CancellationToken cancellationToken)
    {
        var settings = new Dictionary<string, string>(_shared)
        {
            ["Training:Device"] = "cpu",
            ["Training:MaxConcurrentRuns"] = "1",
            ["Worker:Queues"] = "default",
        };
        var worker = await DashboardWorker.StartAsync(name, A.DataDirectory, settings, cancellationToken);
        _workers.Add(worker);
        return worker;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }

        foreach (var web in new[] { _b, _a })
        {
            if (web is not null)
            {
                await web.DisposeAsync();
            }
        }

        await _redis.DisposeAsync();
        await _cluster.DisposeAsync();
    }
}
