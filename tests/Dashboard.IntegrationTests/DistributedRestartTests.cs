using System.Net;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.AspNetCore.SignalR.Client;
using static Dashboard.IntegrationTests.HubRecorder;

namespace Dashboard.IntegrationTests;

/// <summary>
/// PostgreSQL, then Redis, restarted under a run in the distributed topology, with real processes: a web instance that
/// only queues (<c>Training:EmbeddedWorker=false</c>) and two <c>src/Dashboard.Worker</c> processes with one torch thread
/// each, on a PostgreSQL cluster and a Redis of this test's own (so stopping them disturbs no other test).
/// </summary>
public sealed class DistributedRestartTests : IAsyncLifetime
{
    private const int Epochs = 80;

    /// <summary>Well under the failover time below: the worker training the run waits the outage out, nobody takes it over.</summary>
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(180);

    private readonly List<DashboardWorker> _workers = [];
    private PostgresCluster? _cluster;
    private RedisServer? _redis;
    private DashboardServer? _web;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }

        if (_web is not null)
        {
            await _web.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task PostgresThenRedisRestart_MidRunOnAWorker_RunCompletesExactlyOnItsWorkerAndTheWebSaidSo()
    {
        PostgresTestSettings.RequireBinaries();
        RequireRedis();
        _cluster = await PostgresServer.StartPrivateAsync();
        _redis = await RedisServer.StartAsync();
        var shared = new Dictionary<string, string>
        {
            ["Storage:Provider"] = "postgres",
            ["ConnectionStrings:Postgres"] = await _cluster.CreateDatabaseAsync(),
            ["ConnectionStrings:Redis"] = _redis.ConnectionString,
            ["Training:FailoverSeconds"] = "60",
        };
        var web = _web = await DashboardServer.StartAsync(new Dictionary<string, string>(shared) { ["Training:EmbeddedWorker"] = "false" });
        var workerSettings = new Dictionary<string, string>(shared)
        {
            ["Training:Device"] = "cpu",
            ["Training:MaxConcurrentRuns"] = "1",
            ["Training:TorchThreads"] = "1",
        };
        foreach (var name in (string[])["w1", "w2"])
        {
            _workers.Add(await DashboardWorker.StartAsync(name, web.DataDirectory, workerSettings));
        }

        await using var hub = await ConnectAsync(web);
        await hub.Connection.InvokeAsync("JoinAll");
        var straight = await web.CreateRunAsync(RunBodies.DatabaseBound(Epochs, "straight"));
        straight = await web.WaitForRunStatusAsync(straight.Id, "completed", RunTimeout);

        var run = await web.CreateRunAsync(RunBodies.DatabaseBound(Epochs, "restarted"));
        await web.WaitForCheckpointsAsync(run.Id, 1, RunTimeout);
        var holder = _workers.Single(w => w.Output.Contains($"Run {run.Id} trains on", StringComparison.Ordinal));

        await _cluster.StopServerAsync();
        var stopped = DateTime.UtcNow;

        // A request during the outage is a 503; the web instance, which trains nothing, then finds out itself (its probe)
        // and tells its pages, as a run page open there would have made it do anyway.
        using (var during = await web.Client.GetAsync($"api/runs/{run.Id}"))
        {
            await ProblemAssert.IsProblemAsync(during, HttpStatusCode.ServiceUnavailable);
        }

        await WaitForOutputAsync(web, "The database does not answer", "the web instance noticing the outage");
        await Task.Delay(Outage - (DateTime.UtcNow - stopped));
        await _cluster.StartAgainAsync();
        await WaitForOutputAsync(web, "The database answers again", "the web instance noticing the database is back");
        var afterPostgres = await web.GetRunAsync(run.Id);
        Assert.True(afterPostgres.IsActive, $"The run ended ({afterPostgres.Status}) before Redis could be restarted under it.");

        await _redis.RestartAsync(TimeSpan.FromSeconds(1));
        var afterRedis = (await web.GetRunAsync(run.Id)).CurrentEpoch;

        var finished = await web.WaitForRunStatusAsync(run.Id, "completed", RunTimeout);

        // Waited out by the worker that trained it: not handed to the other one, nor resumed from a checkpoint.
        Assert.Null(finished.ResumedFromCheckpointId);
        Assert.Equal(holder.Name, finished.Worker);
        Assert.All(_workers.Where(w => w != holder), w => Assert.DoesNotContain($"Run {run.Id} trains on", w.Output, StringComparison.Ordinal));
        Assert.Contains("The database is unreachable while", holder.Output, StringComparison.Ordinal);
        Assert.Contains("The database is back", holder.Output, StringComparison.Ordinal);

        // The hub client on the web instance kept receiving the worker's epochs (through the restarted Redis), once each.
        var seen = (await hub.WaitForFinalStatusAsync(run.Id, RunTimeout))
            .Where(e => e.Name == EpochCompleted).Select(e => ((MetricDto)e.Payload).Epoch).ToList();
        Assert.Equal(seen.Distinct(), seen);
        Assert.Contains(seen, epoch => epoch > afterRedis);

        await OutageAssert.NothingLostOrDuplicatedAsync(web, straight, finished);
    }

    private static void RequireRedis()
    {
        if (RedisServer.Unavailable is { } reason)
        {
            if (SmallVolume.InContinuousIntegration)
            {
                throw new InvalidOperationException($"{reason} CI=true is set, so the Redis tests must run here.");
            }

            throw new SkipException(reason);
        }
    }

    private static Task WaitForOutputAsync(DashboardServer web, string line, string what) =>
        Poll.UntilAsync(
            _ => Task.FromResult(web.Output),
            output => output.Contains(line, StringComparison.Ordinal),
            TimeSpan.FromSeconds(30),
            what,
            diagnostics: () => web.OutputTail());
}
