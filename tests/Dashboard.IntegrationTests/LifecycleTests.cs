using System.Diagnostics;
using System.Net;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.IntegrationTests;

/// <summary>
/// What survives the process: start-up reconciliation after SIGKILL, and the interrupt checkpoint of a graceful SIGTERM.
/// Each test owns its server because it stops and restarts it. Auto-resume is off here so the reconciled state can be
/// seen; <see cref="ExactResumeTests"/> covers what happens with it on.
/// </summary>
public sealed class LifecycleTests : IAsyncLifetime
{
    private static readonly Dictionary<string, string> OneSlot = new()
    {
        ["Training:MaxConcurrentRuns"] = "1",
        ["Training:Device"] = "cpu",
        ["Training:AutoResume"] = "false",
    };

    private DashboardServer _server = null!;

    public async Task InitializeAsync() => _server = await DashboardServer.StartAsync(OneSlot);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Restart_AfterSigkillDuringRun_MarksRunInterruptedAndTrainsTheQueuedRun()
    {
        var running = await _server.CreateRunAsync(RunBodies.LongCnn(epochs: 50, name: "kill-running"));
        var queued = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 3, name: "kill-queued"));
        var before = await _server.WaitForCheckpointsAsync(running.Id, 1);
        Assert.Equal("queued", (await _server.GetRunAsync(queued.Id)).Status);

        _server.Kill();
        Assert.False(_server.IsRunning);

        // Nobody got to record the end: the row still says running until the next start reconciles it.
        Assert.Equal("running", await _server.ReadDatabaseAsync(db => db.Runs.Where(r => r.Id == running.Id).Select(r => r.Status).SingleAsync()));
        await _server.RestartAsync();

        // Reconciled before the first request is served: no run is left claiming a thread that no longer exists.
        var interrupted = await _server.GetRunAsync(running.Id);
        Assert.Equal("interrupted", interrupted.Status);
        Assert.NotNull(interrupted.FinishedAt);
        Assert.DoesNotContain(await _server.GetCheckpointsAsync(running.Id), c => c.Status == "writing");
        // Only the killed run's folder: the queued run trains as soon as the server is back, and its checkpoint being
        // written at this moment is rightly in a temporary folder.
        Assert.Empty(Directory.EnumerateDirectories(Path.Combine(_server.CheckpointDirectory, $"run-{running.Id:D6}"), "*.tmp-*", SearchOption.AllDirectories));

        // Checkpoints durable before the kill are still durable and intact on disk.
        var after = await _server.GetCheckpointsAsync(running.Id);
        foreach (var checkpoint in before.Where(c => c.Status == "durable"))
        {
            var now = Assert.Single(after, c => c.Id == checkpoint.Id);
            Assert.Equal(("durable", checkpoint.Sha256), (now.Status, now.Sha256));
            Assert.Null(CheckpointDisk.Problem(_server.CheckpointDirectory, now));
        }

        var trained = await _server.WaitForRunStatusAsync(queued.Id, "completed");
        Assert.Equal(3, trained.CurrentEpoch);
        Assert.Equal("interrupted", (await _server.GetRunAsync(running.Id)).Status);
        using var health = await _server.Client.GetAsync("healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Sigterm_DuringRun_ExitsZeroAndRunIsInterruptedWithDurableInterruptCheckpoint()
    {
        var run = await _server.CreateRunAsync(RunBodies.LongCnn(epochs: 50, name: "sigterm-running"));
        await _server.WaitForCheckpointsAsync(run.Id, 1);

        var clock = Stopwatch.StartNew();
        var exitCode = await _server.StopAsync(TimeSpan.FromSeconds(20));
        clock.Stop();

        Assert.True(exitCode == 0, $"Exit code {exitCode}.{Environment.NewLine}{_server.OutputTail()}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"Took {clock.Elapsed.TotalSeconds:0.0} s to exit after SIGTERM.");

        // The process itself recorded the interruption on its way out; start-up reconciliation had nothing to do.
        var (status, kind) = await _server.ReadDatabaseAsync(async db => (
            await db.Runs.Where(r => r.Id == run.Id).Select(r => r.Status).SingleAsync(),
            await db.Checkpoints.Where(c => c.RunId == run.Id).OrderByDescending(c => c.Step).ThenByDescending(c => c.Id).Select(c => c.Kind).FirstAsync()));
        Assert.Equal(("interrupted", "interrupt"), (status, kind));

        await _server.RestartAsync();
        var stopped = await _server.GetRunAsync(run.Id);
        Assert.Equal("interrupted", stopped.Status);
        var checkpoints = await _server.GetCheckpointsAsync(run.Id);
        var newest = checkpoints[^1];
        Assert.Equal(("interrupt", "durable"), (newest.Kind, newest.Status));
        Assert.Equal(checkpoints.Max(c => c.Step), newest.Step);
        Assert.Null(CheckpointDisk.Problem(_server.CheckpointDirectory, newest));
    }
}
