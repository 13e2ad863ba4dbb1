using System.Net;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary>
/// PostgreSQL restarted under a training run, with real processes: the web host on <c>Storage:Provider=postgres</c> with
/// its embedded worker, on a cluster of this test's own (the shared one serves other tests meanwhile).
/// </summary>
public sealed class PostgresRestartTests : IAsyncLifetime
{
    private const int Epochs = 80;

    /// <summary>Well under the failover time below, so the run is not taken over: its own process waits the outage out.</summary>
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(240);

    private PostgresCluster? _cluster;
    private DashboardServer? _web;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_web is not null)
        {
            await _web.DisposeAsync();
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task PostgresRestart_MidRun_RunCompletesExactlyWithOneRowPerEpochAndVerifiedCheckpoints()
    {
        PostgresTestSettings.RequireBinaries();
        _cluster = await PostgresServer.StartPrivateAsync();
        var web = _web = await DashboardServer.StartAsync(new Dictionary<string, string>
        {
            ["Storage:Provider"] = "postgres",
            ["ConnectionStrings:Postgres"] = await _cluster.CreateDatabaseAsync(),
            ["Training:FailoverSeconds"] = "60",
        });
        var straight = await web.CreateRunAsync(RunBodies.DatabaseBound(Epochs, "straight"));
        straight = await web.WaitForRunStatusAsync(straight.Id, "completed", RunTimeout);

        var run = await web.CreateRunAsync(RunBodies.DatabaseBound(Epochs, "restarted"));
        await web.WaitForCheckpointsAsync(run.Id, 1, RunTimeout);
        await _cluster.StopServerAsync();
        var stopped = DateTime.UtcNow;

        // The API answers while the database is away: a problem the client may retry, not a 500 or a dropped connection.
        using (var during = await web.Client.GetAsync($"api/runs/{run.Id}"))
        {
            var problem = await ProblemAssert.IsProblemAsync(during, HttpStatusCode.ServiceUnavailable);
            Assert.Contains("database is unreachable", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        await Task.Delay(Outage - (DateTime.UtcNow - stopped));
        await _cluster.StartAgainAsync();

        var finished = await web.WaitForRunStatusAsync(run.Id, "completed", RunTimeout);

        // Waited out by the process that trained it, not failed and then resumed elsewhere from a checkpoint (which the job
        // engine's retry and the lease's failover would also make complete, exactly, minutes later).
        Assert.Null(finished.ResumedFromCheckpointId);

        // The outage reached the run's writes (it had not ended before the stop), and they waited it out.
        Assert.Contains("The database is unreachable while", web.Output, StringComparison.Ordinal);
        Assert.Contains("The database is back", web.Output, StringComparison.Ordinal);

        await OutageAssert.NothingLostOrDuplicatedAsync(web, straight, finished);
    }
}
