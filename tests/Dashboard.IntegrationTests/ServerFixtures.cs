using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary>One dashboard process shared by every test of a class (or collection): starting one costs a few seconds.</summary>
public class DashboardServerFixture : IAsyncLifetime
{
    private DashboardServer? _server;

    public DashboardServer Server => _server ?? throw new InvalidOperationException("The fixture has not started its server.");

    /// <summary>Configuration keys for the child process; one training slot by default, so queueing is predictable.</summary>
    protected virtual IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["Training:MaxConcurrentRuns"] = "1",
        ["Training:Device"] = "cpu",
    };

    public async Task InitializeAsync() => _server = await DashboardServer.StartAsync(Settings);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>The validation and health tests only send requests that never train, so they share one server.</summary>
[CollectionDefinition(Name)]
public sealed class RequestOnlyCollection : ICollectionFixture<DashboardServerFixture>
{
    public const string Name = "Request-only server";
}
