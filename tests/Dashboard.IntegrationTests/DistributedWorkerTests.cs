using System.Net;
using System.Net.Http.Json;
using Dashboard.Data.Entities;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.IntegrationTests;

/// <summary>
/// The distributed mode with real processes: a web app on PostgreSQL that only queues (<c>Training:EmbeddedWorker=false</c>)
/// and <c>src/Dashboard.Worker</c> processes that train, one run at a time each, with a short failover time.
/// </summary>
public sealed class DistributedWorkerTests : IAsyncLifetime
{
    private const int FailoverSeconds = 6;

    private readonly List<DashboardWorker> _workers = [];
    private IReadOnlyDictionary<string, string> _database = new Dictionary<string, string>();
    private DashboardServer? _web;

    private DashboardServer Web => _web ?? throw new InvalidOperationException("The web app did not start.");

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
    }

    [SkippableFact]
    public async Task Worker_RunCreatedThroughWeb_TrainsOnTheWorkerAndCompletes()
    {
        await StartWebAsync();
        var worker = await StartWorkerAsync("w1");

        var run = await Web.CreateRunAsync(RunBodies.Spirals(3, "on a worker"));
        var finished = await Web.WaitForRunStatusAsync(run.Id, "completed");

        // The web app has no job server: the only process that can have trained it is the worker.
        Assert.Equal(3, finished.CurrentEpoch);
        Assert.Contains($"Run {run.Id} trains on cpu", worker.Output, StringComparison.Ordinal);
        Assert.DoesNotContain($"Run {run.Id} trains on", Web.Output, StringComparison.Ordinal);
        Assert.Equal("default", finished.Queue);
    }

    [SkippableFact]
    public async Task KillMinus9_OfTheWorkerTrainingARun_OtherWorkerFinishesItExactly()
    {
        await StartWebAsync();
        await StartWorkerAsync("w1");
        await StartWorkerAsync("w2");
        var straight = await Web.CreateRunAsync(ExactResumeSuite.DefaultBody("straight"));
        straight = await Web.WaitForRunStatusAsync(straight.Id, "completed", TimeSpan.FromSeconds(240));

        var run = await Web.CreateRunAsync(ExactResumeSuite.DefaultBody("killed"));
        await Web.WaitForCheckpointsAsync(run.Id, 2);
        var holder = _workers.Single(w => w.Output.Contains($"Run {run.Id} trains on", StringComparison.Ordinal));
        var other = _workers.Single(w => w != holder);
        holder.Kill();

        var finished = await Web.WaitForRunStatusAsync(run.Id, "completed", TimeSpan.FromSeconds(240));
        Assert.Contains($"Run {run.Id} trains on", other.Output, StringComparison.Ordinal);
        Assert.NotNull(finished.ResumedFromCheckpointId);
        await ExactResumeSuite.AssertSameRunsAsync(Web, straight, finished);

        // One row per epoch and per step, whatever the dead worker had stored past its last checkpoint.
        var rows = await Web.ReadDatabaseAsync(async db => (
            Epochs: await db.EpochMetrics.CountAsync(m => m.RunId == run.Id),
            Distinct: await db.EpochMetrics.Where(m => m.RunId == run.Id).Select(m => m.Epoch).Distinct().CountAsync(),
            Steps: await db.StepMetrics.CountAsync(s => s.RunId == run.Id),
            Last: await db.StepMetrics.Where(s => s.RunId == run.Id).MaxAsync(s => s.Step)));
        Assert.Equal(finished.Epochs, rows.Epochs);
        Assert.Equal(rows.Epochs, rows.Distinct);
        Assert.Equal(rows.Last, rows.Steps);
    }

    [SkippableFact]
    public async Task FencedOutWorker_AfterItsTokenWasTakenOver_WritesNothingMore()
    {
        await StartWebAsync();
        var worker = await StartWorkerAsync("w1");
        var run = await Web.CreateRunAsync(RunBodies.LongCnn(name: "fenced"));
        await Web.WaitForCheckpointsAsync(run.Id, 1);

        // What a take-over does to the row: the token moves on. The worker still trains and believes the run is its own.
        var takenOver = await Web.ReadDatabaseAsync(db => db.Runs.Where(r => r.Id == run.Id)
            .ExecuteUpdateAsync(u => u.SetProperty(r => r.LeaseToken, r => r.LeaseToken + 1)));
        Assert.Equal(1, takenOver);
        var before = await CountRowsAsync(run.Id);

        await Poll.UntilAsync(
            _ => Task.FromResult(worker.Output),
            output => output.Contains("lost its lease", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60),
            "the worker noticing it lost the run",
            diagnostics: () => worker.Output);
        await Task.Delay(TimeSpan.FromSeconds(3));

        Assert.Equal(before, await CountRowsAsync(run.Id));
        var row = await Web.GetRunAsync(run.Id);
        Assert.Equal("running", row.Status); // no ending recorded by the process that lost it
    }

    [SkippableFact]
    public async Task Stop_IssuedThroughTheWeb_StopsTheRunOnItsWorker()
    {
        await StartWebAsync();
        var worker = await StartWorkerAsync("w1");
        var run = await Web.CreateRunAsync(RunBodies.LongCnn(name: "stopped from the web"));
        await Web.WaitForRunStatusAsync(run.Id, "running");

        using var stop = await Web.StopRunAsync(run.Id);
        Assert.Equal(HttpStatusCode.Accepted, stop.StatusCode);

        var stopped = await Web.WaitForRunStatusAsync(run.Id, "stopped", TimeSpan.FromSeconds(60));
        Assert.True(stopped.CurrentEpoch < 50, "The run trained to its end instead of stopping.");
        Assert.Contains($"Run {run.Id} trains on", worker.Output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Sigterm_OnTheWorkerTrainingARun_HandsItBackAndTheOtherWorkerContinuesIt()
    {
        await StartWebAsync();
        await StartWorkerAsync("w1");
        await StartWorkerAsync("w2");
        var run = await Web.CreateRunAsync(RunBodies.LongCnn(name: "handed back"));
        await Web.WaitForCheckpointsAsync(run.Id, 1);
        var holder = _workers.Single(w => w.Output.Contains($"Run {run.Id} trains on", StringComparison.Ordinal));
        var other = _workers.Single(w => w != holder);

        Assert.Equal(0, await holder.StopAsync(TimeSpan.FromSeconds(90)));

        // Handed back at once (its log says so), not left for the failover; the other worker continues from the interrupt
        // checkpoint the stopping worker wrote.
        var continued = await Poll.UntilAsync(
            _ => Web.GetRunAsync(run.Id),
            r => r.Status == "running" && other.Output.Contains($"Run {run.Id} trains on", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60),
            "the other worker training the run",
            diagnostics: () => other.Output);
        var log = await Web.ReadDatabaseAsync(db => db.RunLogEntries.Where(e => e.RunId == run.Id).Select(e => e.Message).ToListAsync());
        Assert.Contains(log, m => m.StartsWith("Interrupted as its worker shut down", StringComparison.Ordinal));
        var interrupt = (await Web.GetCheckpointsAsync(run.Id)).Where(c => c.Kind == "interrupt").MaxBy(c => c.Id);
        Assert.NotNull(interrupt);
        await Poll.UntilAsync(
            _ => Web.GetRunAsync(run.Id),
            r => r.ResumedFromCheckpointId == interrupt.Id,
            TimeSpan.FromSeconds(30),
            "the run resumed from the interrupt checkpoint");
        Assert.Equal("running", continued.Status);
    }

    [SkippableFact]
    public async Task Start_WorkerShutdownSecondsSet_TheHostWaitsThatLongAndAMarginOnSigterm()
    {
        await StartWebAsync();

        // Read back from the host's own options: the host's 30 s default would end a longer hand-back half-written.
        var worker = await StartWorkerAsync("slow-disk", extra: new Dictionary<string, string> { ["Worker:ShutdownSeconds"] = "95" });

        Assert.Contains("on SIGTERM it waits up to 105 s", worker.Output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Start_WorkerShutdownSecondsOutOfRange_TheWorkerRefusesToStartNamingIt()
    {
        await StartWebAsync();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StartWorkerAsync("no-time", extra: new Dictionary<string, string> { ["Worker:ShutdownSeconds"] = "0" }));

        Assert.Contains("ShutdownSeconds", error.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Queue_RunOnGpuQueue_WaitsUntilAWorkerServesThatQueue()
    {
        await StartWebAsync();
        await StartWorkerAsync("cpu-only");
        var gpu = await Web.CreateRunAsync(new { name = "wants gpu", dataset = "spirals", model = "mlp", epochs = 2, seed = 7, queue = "gpu" });
        Assert.Equal("gpu", gpu.Queue);
        var plain = await Web.CreateRunAsync(RunBodies.Spirals(2, "default queue"));

        // The default run, queued after it, trains and ends while the gpu run still waits: no worker serves "gpu" yet.
        await Web.WaitForRunStatusAsync(plain.Id, "completed");
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal("queued", (await Web.GetRunAsync(gpu.Id)).Status);

        var gpuWorker = await StartWorkerAsync("gpu-worker", queues: "gpu");
        await Web.WaitForRunStatusAsync(gpu.Id, "completed");
        Assert.Contains($"Run {gpu.Id} trains on", gpuWorker.Output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Create_WithAQueueNameTheEngineRefuses_Answers400OnQueue()
    {
        await StartWebAsync();
        using var response = await Web.Client.PostAsJsonAsync("api/runs", new { dataset = "spirals", model = "mlp", epochs = 1, queue = "GPU-1" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("\"queue\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private async Task<(int Epochs, int Steps, int Checkpoints)> CountRowsAsync(int runId) =>
        await Web.ReadDatabaseAsync(async db => (
            await db.EpochMetrics.CountAsync(m => m.RunId == runId),
            await db.StepMetrics.CountAsync(s => s.RunId == runId),
            await db.Checkpoints.CountAsync(c => c.RunId == runId && c.Status != CheckpointStatus.Missing)));

    private async Task StartWebAsync()
    {
        _database = await PostgresTestSettings.RequireAsync();
        var settings = new Dictionary<string, string>(_database)
        {
            ["Training:EmbeddedWorker"] = "false",
            ["Training:FailoverSeconds"] = FailoverSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        _web = await DashboardServer.StartAsync(settings);
    }

    private async Task<DashboardWorker> StartWorkerAsync(string name, string queues = "default", IReadOnlyDictionary<string, string>? extra = null)
    {
        var settings = new Dictionary<string, string>((extra ?? new Dictionary<string, string>()).Concat(_database))
        {
            // Torch's default thread count, as in the exact-resume tests: with Training:TorchThreads=1 the killed run's
            // metrics differed from the straight run's in the 8th digit (seen once here), so the pool size is left alone.
            ["Training:Device"] = "cpu",
            ["Training:MaxConcurrentRuns"] = "1",
            ["Training:FailoverSeconds"] = FailoverSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Worker:Queues"] = queues,
        };
        var worker = await DashboardWorker.StartAsync(name, Web.DataDirectory, settings);
        _workers.Add(worker);
        return worker;
    }
}
