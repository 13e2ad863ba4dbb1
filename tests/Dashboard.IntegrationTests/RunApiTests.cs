using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary><c>/api/runs</c> as a script uses it: create, list, read, stop, and the errors it gets wrong input.</summary>
public sealed class RunApiTests(DashboardServerFixture fixture) : RunApiSuite<DashboardServerFixture>(fixture);

/// <summary>The tests of <see cref="RunApiTests"/> with the server's database on PostgreSQL.</summary>
public sealed class RunApiPostgresTests(PostgresServerFixture fixture) : RunApiSuite<PostgresServerFixture>(fixture);

/// <summary>The tests of <see cref="RunApiTests"/>, run once per storage provider by the classes above.</summary>
public abstract class RunApiSuite<TFixture> : IClassFixture<TFixture>
    where TFixture : DashboardServerFixture
{
    private readonly DashboardServer _server;

    protected RunApiSuite(TFixture fixture)
    {
        fixture.SkipWhenUnavailable();
        _server = fixture.Server;
    }

    [SkippableFact]
    public async Task PostRuns_ValidBody_Returns201WithLocationAndTheQueuedRun()
    {
        using var response = await _server.Client.PostAsJsonAsync("api/runs", new
        {
            name = "api-create",
            dataset = "spirals",
            model = "mlp",
            epochs = 2,
            batchSize = 32,
            learningRate = 0.02,
            optimizer = "sgd",
            seed = 11,
            sampleLimit = 400,
        });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var run = await response.Content.ReadFromJsonAsync<RunDto>(DashboardServer.Json);
        Assert.NotNull(run);
        Assert.Equal($"/api/runs/{run.Id}", response.Headers.Location?.OriginalString);
        Assert.Equal(("api-create", "queued", 2, 0), (run.Name, run.Status, run.Epochs, run.CurrentEpoch));
        Assert.Equal(("spirals", "mlp", 2, 32, 0.02, "sgd", 11L, 400), (
            run.Config.Dataset, run.Config.Model, run.Config.Epochs, run.Config.BatchSize, run.Config.LearningRate, run.Config.Optimizer,
            run.Config.Seed, run.Config.SampleLimit));
        Assert.InRange(run.CreatedAt, DateTime.UtcNow.AddMinutes(-5), DateTime.UtcNow.AddMinutes(1));

        // The Location answers with the same run, and the run trains on the limited sample.
        var located = await _server.Client.GetFromJsonAsync<RunDto>(response.Headers.Location, DashboardServer.Json);
        Assert.Equal(run.Id, located?.Id);
        var done = await _server.WaitForRunStatusAsync(run.Id, "completed");
        Assert.Equal(2, done.CurrentEpoch);
        Assert.NotNull(done.StartedAt);
        Assert.NotNull(done.FinishedAt);
        Assert.Equal([1, 2], (await _server.GetMetricsAsync(run.Id)).Select(m => m.Epoch));
    }

    [SkippableFact]
    public async Task GetRunEndpoints_CompletedRun_AnswerWithTheContractFieldNames()
    {
        var run = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 2, name: "api-fields"));
        await _server.WaitForRunStatusAsync(run.Id, "completed");

        using var runJson = JsonDocument.Parse(await _server.Client.GetStringAsync($"api/runs/{run.Id}"));
        AssertHasFields(runJson.RootElement, "id", "name", "status", "epochs", "currentEpoch", "parentRunId", "parentCheckpointId", "device", "config", "createdAt");
        AssertHasFields(runJson.RootElement.GetProperty("config"), "dataset", "model", "epochs", "batchSize", "learningRate", "optimizer", "seed", "validationSplit");
        Assert.Equal("cpu", runJson.RootElement.GetProperty("device").GetString());

        using var metricsJson = JsonDocument.Parse(await _server.Client.GetStringAsync($"api/runs/{run.Id}/metrics"));
        Assert.Equal(2, metricsJson.RootElement.GetArrayLength());
        foreach (var row in metricsJson.RootElement.EnumerateArray())
        {
            AssertHasFields(row, "epoch", "loss", "valLoss", "accuracy", "valAccuracy", "learningRate", "durationMs");
        }

        using var checkpointsJson = JsonDocument.Parse(await _server.Client.GetStringAsync($"api/runs/{run.Id}/checkpoints"));
        Assert.Equal(2, checkpointsJson.RootElement.GetArrayLength());
        foreach (var row in checkpointsJson.RootElement.EnumerateArray())
        {
            AssertHasFields(row, "id", "runId", "epoch", "step", "metrics", "sizeBytes", "sha256", "kind", "pinned", "status", "createdAt");
        }

        var checkpoints = await _server.GetCheckpointsAsync(run.Id);
        // The first epoch always beats "no best yet", so the default policy calls it best.
        Assert.Equal(["best", "last"], checkpoints.Select(c => c.Kind));
        Assert.All(checkpoints, c => Assert.Null(CheckpointDisk.Problem(_server.CheckpointDirectory, c)));
    }

    [SkippableFact]
    public async Task GetRuns_NoFilter_ListsNewestFirst()
    {
        var older = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 1, name: "api-list-older"));
        var newer = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 1, name: "api-list-newer"));

        var runs = await _server.Client.GetFromJsonAsync<List<RunDto>>("api/runs", DashboardServer.Json);

        Assert.NotNull(runs);
        var ids = runs.Select(r => r.Id).ToList();
        Assert.Equal(ids.OrderDescending(), ids);
        Assert.True(ids.IndexOf(newer.Id) < ids.IndexOf(older.Id), $"Run {newer.Id} should come before {older.Id}: [{string.Join(", ", ids)}]");
        Assert.True(runs.Zip(runs.Skip(1)).All(p => p.First.CreatedAt >= p.Second.CreatedAt), "createdAt is not descending");
        await _server.WaitForRunStatusAsync(newer.Id, "completed");
    }

    [SkippableFact]
    public async Task GetRuns_StatusCompleted_ListsOnlyCompletedRuns()
    {
        var completed = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 1, name: "api-filter-completed"));
        await _server.WaitForRunStatusAsync(completed.Id, "completed");
        var holder = await _server.CreateRunAsync(RunBodies.SlotHolder("api-filter-running"));
        try
        {
            await _server.WaitForRunStatusAsync(holder.Id, "running");

            var runs = await _server.Client.GetFromJsonAsync<List<RunDto>>("api/runs?status=completed", DashboardServer.Json);
            var running = await _server.Client.GetFromJsonAsync<List<RunDto>>("api/runs?status=running", DashboardServer.Json);

            Assert.NotNull(runs);
            Assert.All(runs, r => Assert.Equal("completed", r.Status));
            Assert.Contains(runs, r => r.Id == completed.Id);
            Assert.DoesNotContain(runs, r => r.Id == holder.Id);
            Assert.Equal([holder.Id], running?.Select(r => r.Id));
        }
        finally
        {
            await StopAndWaitAsync(holder.Id);
        }
    }

    [SkippableFact]
    public async Task GetRuns_UnknownStatus_Returns400ProblemNamingStatus()
    {
        using var response = await _server.Client.GetAsync("api/runs?status=bogus");

        await ProblemAssert.IsValidationProblemAsync(response, "status");
    }

    [SkippableTheory]
    [InlineData("api/runs/424242")]
    [InlineData("api/runs/424242/metrics")]
    [InlineData("api/runs/424242/checkpoints")]
    public async Task Get_UnknownRun_Returns404Problem(string path)
    {
        using var response = await _server.Client.GetAsync(path);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Contains("424242", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task StopRun_UnknownRun_Returns404Problem()
    {
        using var response = await _server.StopRunAsync(424242);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
    }

    [SkippableFact]
    public async Task StopRun_CompletedRun_Returns409Problem()
    {
        var run = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 1, name: "api-stop-completed"));
        await _server.WaitForRunStatusAsync(run.Id, "completed");

        using var response = await _server.StopRunAsync(run.Id);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict);
        Assert.Equal("completed", (await _server.GetRunAsync(run.Id)).Status);
    }

    [SkippableFact]
    public async Task StopRun_RunningRun_Returns202AndRunEndsStoppedWithDurableInterruptCheckpoint()
    {
        var run = await _server.CreateRunAsync(RunBodies.LongCnn(epochs: 50, name: "api-stop-running"));
        try
        {
            await _server.WaitForCheckpointsAsync(run.Id, 1);

            using var response = await _server.StopRunAsync(run.Id);

            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            Assert.Equal($"/api/runs/{run.Id}", response.Headers.Location?.OriginalString);
        }
        finally
        {
            await _server.StopRunAsync(run.Id);
        }

        var stopped = await _server.WaitForRunStatusAsync(run.Id, "stopped", TimeSpan.FromSeconds(30));
        Assert.InRange(stopped.CurrentEpoch, 1, 49);
        Assert.NotNull(stopped.FinishedAt);
        var checkpoints = await _server.GetCheckpointsAsync(run.Id);
        var last = checkpoints[^1];
        Assert.Equal(("interrupt", "durable"), (last.Kind, last.Status));
        Assert.True(last.Step >= checkpoints[^2].Step, "The interrupt checkpoint is older than a periodic one.");
        Assert.Null(CheckpointDisk.Problem(_server.CheckpointDirectory, last));
        Assert.Equal(stopped.CurrentEpoch, (await _server.GetMetricsAsync(run.Id)).Count);
    }

    [SkippableFact]
    public async Task StopRun_QueuedRun_EndsStoppedWithoutEverTraining()
    {
        var holder = await _server.CreateRunAsync(RunBodies.SlotHolder("api-stop-queued-holder"));
        var queued = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 3, name: "api-stop-queued"));
        try
        {
            await _server.WaitForRunStatusAsync(holder.Id, "running");
            Assert.Equal("queued", (await _server.GetRunAsync(queued.Id)).Status);

            using var response = await _server.StopRunAsync(queued.Id);

            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            Assert.Equal("stopped", (await _server.GetRunAsync(queued.Id)).Status);
        }
        finally
        {
            await StopAndWaitAsync(holder.Id);
        }

        // Runs leave the queue in order: once a run created later has completed, the stopped one has had its turn.
        var later = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 1, name: "api-stop-queued-later"));
        await _server.WaitForRunStatusAsync(later.Id, "completed");
        var run = await _server.GetRunAsync(queued.Id);
        Assert.Equal(("stopped", 0, null, ""), (run.Status, run.CurrentEpoch, run.StartedAt, run.Device));
        Assert.Empty(await _server.GetMetricsAsync(queued.Id));
        Assert.Empty(await _server.GetCheckpointsAsync(queued.Id));
    }

    private static void AssertHasFields(JsonElement element, params string[] fields)
    {
        var names = element.EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        Assert.All(fields, field => Assert.True(names.Contains(field), $"'{field}' is missing from {element}"));
    }

    private async Task StopAndWaitAsync(int runId)
    {
        using var response = await _server.StopRunAsync(runId);
        await _server.WaitForRunAsync(runId, r => r.Status is not ("queued" or "running"), $"run {runId} to end", TimeSpan.FromSeconds(30));
    }
}
