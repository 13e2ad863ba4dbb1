using System.Net;
using Dashboard.Data.Entities;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.EntityFrameworkCore;

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
        var straight = await web.CreateRunAsync(Body("straight"));
        straight = await web.WaitForRunStatusAsync(straight.Id, "completed", RunTimeout);

        var run = await web.CreateRunAsync(Body("restarted"));
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
        var errors = await web.ReadDatabaseAsync(db => db.RunLogEntries.Where(l => l.RunId == run.Id && l.Level != RunLogLevel.Info).Select(l => l.Message).ToListAsync());
        Assert.Empty(errors);

        // The outage reached the run's writes (it had not ended before the stop), and they waited it out.
        Assert.Contains("The database is unreachable while", web.Output, StringComparison.Ordinal);
        Assert.Contains("The database is back", web.Output, StringComparison.Ordinal);

        var epochs = await web.ReadDatabaseAsync(db => db.EpochMetrics.Where(m => m.RunId == run.Id).Select(m => m.Epoch).OrderBy(e => e).ToListAsync());
        Assert.Equal(Enumerable.Range(1, Epochs), epochs);
        var checkpoints = await web.GetCheckpointsAsync(run.Id);
        Assert.All(checkpoints, c => Assert.True(c.Status is CheckpointStatus.Durable or CheckpointStatus.Deleted, $"Checkpoint #{c.Id} is {c.Status}."));
        Assert.All(checkpoints.Where(c => c.IsDurable), c => Assert.Null(CheckpointDisk.Problem(web.CheckpointDirectory, c)));
        Assert.Equal(checkpoints.Count, checkpoints.Select(c => (c.Epoch, c.Step, c.Kind)).Distinct().Count());

        // Bitwise the run that never saw an outage: metrics, every step, the last weights.
        await ExactResumeSuite.AssertSameRunsAsync(web, straight, finished);
    }

    /// <summary>
    /// Two spirals with a checkpoint every epoch: each epoch takes milliseconds to train and several writes to store, so
    /// the run is mostly database work, and still training when the server stops.
    /// </summary>
    private static object Body(string name) => new
    {
        name,
        dataset = "spirals",
        model = "mlp",
        epochs = Epochs,
        batchSize = 64,
        learningRate = 0.01,
        optimizer = "adam",
        seed = 7,
        checkpoint = new { everyEpochs = 1 },
    };
}
