using System.Net;
using System.Net.Http.Json;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary>
/// The checkpoint routes' refusals: 404 for every unknown id, 409 for every state conflict (deleted, pinned, in use,
/// already running), and one job for a double-clicked Resume however many requests arrive at once.
/// </summary>
[Collection(TrainedServerCollection.Name)]
public sealed class CheckpointRouteTests(TrainedServerFixture fixture) : CheckpointRouteSuite(fixture);

/// <summary>The tests of <see cref="CheckpointRouteTests"/> with the server's database on PostgreSQL.</summary>
[Collection(PostgresTrainedServerCollection.Name)]
public sealed class CheckpointRoutePostgresTests(PostgresTrainedServerFixture fixture) : CheckpointRouteSuite(fixture);

/// <summary>The tests of <see cref="CheckpointRouteTests"/>, run once per storage provider by the classes above.</summary>
public abstract class CheckpointRouteSuite
{
    private const int Unknown = 424242;

    private readonly TrainedServerFixture _fixture;
    private readonly DashboardServer _server;

    protected CheckpointRouteSuite(TrainedServerFixture fixture)
    {
        fixture.SkipWhenUnavailable();
        _fixture = fixture;
        _server = fixture.Server;
    }

    /// <summary>(method, path, JSON body or null): every route that takes an id, with a body it would otherwise accept.</summary>
    public static TheoryData<string, string, string?> UnknownIdRoutes { get; } = new()
    {
        { "POST", $"api/runs/{Unknown}/checkpoint", null },
        { "GET", $"api/runs/{Unknown}/checkpoints/best", null },
        { "GET", $"api/runs/{Unknown}/checkpoints/latest", null },
        { "GET", $"api/checkpoints/{Unknown}", null },
        { "POST", $"api/checkpoints/{Unknown}/pin", null },
        { "DELETE", $"api/checkpoints/{Unknown}/pin", null },
        { "DELETE", $"api/checkpoints/{Unknown}", null },
        { "POST", $"api/checkpoints/{Unknown}/resume", null },
        { "POST", $"api/checkpoints/{Unknown}/resume", """{ "epochs": 5 }""" },
        { "POST", $"api/checkpoints/{Unknown}/finetune", """{ "epochs": 1 }""" },
        { "GET", $"api/checkpoints/{Unknown}/export", null },
        { "GET", $"api/checkpoints/{Unknown}/export?format=bundle", null },
        { "POST", $"api/checkpoints/{Unknown}/evaluate", null },
        { "POST", $"api/checkpoints/{Unknown}/predict", """{ "input": [0.5, 0.5] }""" },
    };

    [SkippableTheory]
    [MemberData(nameof(UnknownIdRoutes))]
    public async Task Route_UnknownId_Returns404ProblemNamingTheId(string method, string path, string? json)
    {
        using var response = await SendAsync(method, path, json);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Contains(Unknown.ToString(System.Globalization.CultureInfo.InvariantCulture), problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData("GET", "api/checkpoints/abc")]
    [InlineData("POST", "api/checkpoints/abc/resume")]
    [InlineData("GET", "api/checkpoints/99999999999/export")]
    [InlineData("GET", "api/runs/1.5")]
    [InlineData("POST", "api/runs/-/stop")]
    [InlineData("GET", "api/no-such-route")]
    [InlineData("GET", "api/checkpoints/..%2F..%2Fdashboard.db/export")]
    [InlineData("GET", "api/checkpoints/%2Fetc%2Fpasswd/export")]
    public async Task Route_IdThatIsNotANumber_Returns404Problem(string method, string path)
    {
        using var response = await SendAsync(method, path, json: null);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
    }

    [SkippableFact]
    public async Task PostAdopt_NoOrphanWithThatHash_Returns404Problem()
    {
        var hash = new string('0', 64);

        using var response = await _server.Client.PostEmptyAsync($"api/checkpoints/orphans/{hash}/adopt");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Contains(hash, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task CheckpointNow_FinishedRun_Returns409Problem()
    {
        using var response = await _server.Client.PostEmptyAsync($"api/runs/{_fixture.Run.Id}/checkpoint");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict);
        Assert.Equal(_fixture.Checkpoints.Select(c => c.Id), (await _server.GetCheckpointsAsync(_fixture.Run.Id)).Select(c => c.Id));
    }

    [SkippableFact]
    public async Task Delete_PinnedCheckpoint_Returns409UntilUnpinned_ThenTheDeletedOneRefusesEveryAction()
    {
        var run = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 2, name: "conflict-pinned"));
        await _server.WaitForRunStatusAsync(run.Id, "completed");
        var checkpoint = (await _server.GetCheckpointsAsync(run.Id))[0];
        var runsBefore = await _server.RunIdsAsync();

        using (var pin = await _server.Client.PostEmptyAsync($"api/checkpoints/{checkpoint.Id}/pin"))
        {
            Assert.Equal(HttpStatusCode.NoContent, pin.StatusCode);
        }

        using (var refused = await _server.Client.DeleteAsync($"api/checkpoints/{checkpoint.Id}"))
        {
            var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Conflict);
            Assert.Contains("pinned", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        var kept = await _server.GetCheckpointAsync(checkpoint.Id);
        Assert.Equal(("durable", true), (kept.Status, kept.Pinned));
        Assert.Null(CheckpointDisk.Problem(_server.CheckpointDirectory, kept));

        using (var unpin = await _server.Client.DeleteAsync($"api/checkpoints/{checkpoint.Id}/pin"))
        {
            Assert.Equal(HttpStatusCode.NoContent, unpin.StatusCode);
        }

        using (var delete = await _server.Client.DeleteAsync($"api/checkpoints/{checkpoint.Id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        var deleted = await _server.GetCheckpointAsync(checkpoint.Id);
        Assert.Equal(("deleted", false), (deleted.Status, deleted.Pinned));
        Assert.NotNull(CheckpointDisk.Problem(_server.CheckpointDirectory, deleted));

        foreach (var (method, path, json) in ActionsOn(checkpoint.Id))
        {
            using var response = await SendAsync(method, path, json);
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict);
            Assert.Contains("deleted", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(runsBefore, await _server.RunIdsAsync());
    }

    [SkippableFact]
    public async Task ConcurrentResumes_NewestCheckpointOfAFinishedRun_ContinueThatRunOnceAndRefuseTheRest()
    {
        // No epoch-end checkpoints and an improvement nobody reaches: while it continues, this stays the run's newest.
        var run = await _server.CreateRunAsync(new
        {
            name = "double-resume-continue",
            dataset = "spirals",
            model = "mlp",
            epochs = 1,
            learningRate = 0.01,
            seed = 5,
            checkpoint = new { everyEpochs = 0, minDelta = 1e9 },
        });
        await _server.WaitForRunStatusAsync(run.Id, "completed");
        var newest = Assert.Single(await _server.GetCheckpointsAsync(run.Id));

        try
        {
            var answers = await ResumeConcurrentlyAsync(newest.Id, copies: 8, epochs: 10_000);

            var accepted = Assert.Single(answers, a => a.Status == HttpStatusCode.Accepted);
            Assert.Equal(run.Id, accepted.RunId);
            Assert.All(answers.Where(a => a != accepted), a => Assert.Equal(HttpStatusCode.Conflict, a.Status));
            Assert.Empty(await _server.ChildrenOfAsync(newest.Id));

            // Still the newest checkpoint, of a run that now trains: resuming it again is the same conflict.
            await _server.WaitForRunAsync(run.Id, r => r is { Status: "running", CurrentEpoch: > 1 }, $"run {run.Id} to train on");
            using var again = await _server.Client.PostEmptyAsync($"api/checkpoints/{newest.Id}/resume");
            var problem = await ProblemAssert.IsProblemAsync(again, HttpStatusCode.Conflict);
            Assert.Contains("running", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            await StopAndWaitAsync(run.Id);
        }

        AssertTrainedOnce(await _server.GetMetricsAsync(run.Id), firstEpoch: 1);
    }

    [SkippableTheory]
    [InlineData(2)]
    [InlineData(8)]
    public async Task ConcurrentResumes_OlderCheckpoint_StartOneBranchAndRefuseTheRest(int copies)
    {
        var run = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 2, name: $"double-resume-branch-{copies}"));
        await _server.WaitForRunStatusAsync(run.Id, "completed");
        var first = (await _server.GetCheckpointsAsync(run.Id))[0];
        var runsBefore = await _server.RunIdsAsync();

        var answers = await ResumeConcurrentlyAsync(first.Id, copies, epochs: 10_000);

        var accepted = Assert.Single(answers, a => a.Status == HttpStatusCode.Accepted);
        Assert.All(answers.Where(a => a != accepted), a => Assert.Equal(HttpStatusCode.Conflict, a.Status));
        var branch = Assert.Single(await _server.ChildrenOfAsync(first.Id));
        Assert.Equal(accepted.RunId, branch.Id);
        Assert.Equal(run.Id, branch.ParentRunId);
        Assert.Equal([branch.Id, .. runsBefore], await _server.RunIdsAsync());
        try
        {
            await _server.WaitForRunAsync(branch.Id, r => r is { Status: "running" } && r.CurrentEpoch > first.Epoch, $"branch {branch.Id} to train");

            // The branch trains from it, so it may not go; the branch's own run id is in the refusal.
            using var delete = await _server.Client.DeleteAsync($"api/checkpoints/{first.Id}");
            await ProblemAssert.IsProblemAsync(delete, HttpStatusCode.Conflict);
            Assert.Equal("durable", (await _server.GetCheckpointAsync(first.Id)).Status);

            using var again = await _server.Client.PostEmptyAsync($"api/checkpoints/{first.Id}/resume");
            var problem = await ProblemAssert.IsProblemAsync(again, HttpStatusCode.Conflict);
            Assert.Contains($"run {branch.Id}", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            await StopAndWaitAsync(branch.Id);
        }

        Assert.Single(await _server.ChildrenOfAsync(first.Id));
        AssertTrainedOnce(await _server.GetMetricsAsync(branch.Id), firstEpoch: first.Epoch + 1);
    }

    [SkippableFact]
    public async Task Delete_NewestCheckpointOfARunQueuedToResumeItself_Returns409AndTheRunGoesOnFromIt()
    {
        var run = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 2, name: "queued-self-resume"));
        await _server.WaitForRunStatusAsync(run.Id, "completed");
        var newest = (await _server.GetCheckpointsAsync(run.Id))[^1];
        var holder = await _server.CreateRunAsync(RunBodies.SlotHolder("self-resume-holder"));
        try
        {
            await _server.WaitForRunStatusAsync(holder.Id, "running");
            using var resume = await _server.Client.PostAsJsonAsync($"api/checkpoints/{newest.Id}/resume", new { epochs = 3 });
            Assert.Equal(HttpStatusCode.Accepted, resume.StatusCode);
            Assert.Equal(run.Id, (await resume.Content.ReadFromJsonAsync<RunStartedDto>(DashboardServer.Json))!.RunId);
            Assert.Equal("queued", (await _server.GetRunAsync(run.Id)).Status);

            using var delete = await _server.Client.DeleteAsync($"api/checkpoints/{newest.Id}");

            var problem = await ProblemAssert.IsProblemAsync(delete, HttpStatusCode.Conflict);
            Assert.Contains("starting point", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Equal("durable", (await _server.GetCheckpointAsync(newest.Id)).Status);
        }
        finally
        {
            await StopAndWaitAsync(holder.Id);
        }

        await _server.WaitForRunStatusAsync(run.Id, "completed");
        var metrics = await _server.GetMetricsAsync(run.Id);
        AssertTrainedOnce(metrics, firstEpoch: 1);
        Assert.Equal(3, metrics.Count);
    }

    [SkippableFact]
    public async Task Resume_StartCheckpointLostWhileQueued_FailsTheRunNamingItAndKeepsItsMetrics()
    {
        var run = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 2, name: "queued-start-lost"));
        await _server.WaitForRunStatusAsync(run.Id, "completed");
        var newest = (await _server.GetCheckpointsAsync(run.Id))[^1];
        var before = await _server.GetMetricsAsync(run.Id);
        var holder = await _server.CreateRunAsync(RunBodies.SlotHolder("start-lost-holder"));
        try
        {
            await _server.WaitForRunStatusAsync(holder.Id, "running");
            using var resume = await _server.Client.PostAsJsonAsync($"api/checkpoints/{newest.Id}/resume", new { epochs = 3 });
            Assert.Equal(HttpStatusCode.Accepted, resume.StatusCode);

            // Gone from the disk behind the server's back, and found so (and marked missing) before the run's turn comes.
            Directory.Delete(CheckpointDisk.Folder(_server.CheckpointDirectory, newest), recursive: true);
            using var evaluate = await _server.Client.PostEmptyAsync($"api/checkpoints/{newest.Id}/evaluate");
            await ProblemAssert.IsProblemAsync(evaluate, HttpStatusCode.Conflict);
            Assert.Equal("missing", (await _server.GetCheckpointAsync(newest.Id)).Status);
        }
        finally
        {
            await StopAndWaitAsync(holder.Id);
        }

        // Not trained from the older checkpoint, which would replace epoch 2's metrics with a replay.
        var failed = await _server.WaitForRunStatusAsync(run.Id, "failed");
        Assert.Contains($"checkpoint {newest.Id}", failed.Error, StringComparison.Ordinal);
        Assert.Equal(before, await _server.GetMetricsAsync(run.Id));
    }

    [SkippableFact]
    public async Task GetBestAndLatest_RunWithoutCheckpoints_Return404Problem()
    {
        // Stopped while it waited behind another run: it never trained, so it has no checkpoint at all.
        var holder = await _server.CreateRunAsync(RunBodies.SlotHolder("no-checkpoints-holder"));
        var waiting = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 1, name: "no-checkpoints"));
        try
        {
            using var stop = await _server.StopRunAsync(waiting.Id);
            Assert.Equal("stopped", (await _server.GetRunAsync(waiting.Id)).Status);
        }
        finally
        {
            await StopAndWaitAsync(holder.Id);
        }

        foreach (var path in new[] { "checkpoints/best", "checkpoints/latest" })
        {
            using var response = await _server.Client.GetAsync($"api/runs/{waiting.Id}/{path}");
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
            Assert.Contains("no durable checkpoint", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
    }

    /// <summary>The actions that need a usable checkpoint, with bodies they would otherwise accept (spirals: 2 inputs).</summary>
    internal static IEnumerable<(string Method, string Path, string? Json)> ActionsOn(int checkpointId) =>
    [
        ("POST", $"api/checkpoints/{checkpointId}/resume", null),
        ("POST", $"api/checkpoints/{checkpointId}/finetune", """{ "epochs": 1 }"""),
        ("GET", $"api/checkpoints/{checkpointId}/export?format=safetensors", null),
        ("GET", $"api/checkpoints/{checkpointId}/export?format=torchsharp", null),
        ("GET", $"api/checkpoints/{checkpointId}/export?format=bundle", null),
        ("POST", $"api/checkpoints/{checkpointId}/evaluate", null),
        ("POST", $"api/checkpoints/{checkpointId}/predict", """{ "input": [0.5, 0.5] }"""),
    ];

    /// <summary>One training job: every epoch from the first it trained, once each and in order.</summary>
    private static void AssertTrainedOnce(IReadOnlyList<MetricDto> metrics, int firstEpoch)
    {
        Assert.NotEmpty(metrics);
        Assert.Equal(Enumerable.Range(firstEpoch, metrics.Count), metrics.Select(m => m.Epoch));
        Assert.Equal(metrics.Select(m => m.Step).Order(), metrics.Select(m => m.Step));
        Assert.Equal(metrics.Count, metrics.Select(m => m.Step).Distinct().Count());
    }

    /// <summary>Fires the requests together, as a double click (or a script retrying in a loop) does.</summary>
    private async Task<IReadOnlyList<(HttpStatusCode Status, int? RunId)>> ResumeConcurrentlyAsync(int checkpointId, int copies, int epochs)
    {
        using var start = new ManualResetEventSlim();
        var requests = Enumerable.Range(0, copies).Select(_ => Task.Run(async () =>
        {
            start.Wait();
            using var response = await _server.Client.PostAsJsonAsync($"api/checkpoints/{checkpointId}/resume", new { epochs });
            var started = response.StatusCode == HttpStatusCode.Accepted
                ? await response.Content.ReadFromJsonAsync<RunStartedDto>(DashboardServer.Json)
                : null;
            if (response.StatusCode == HttpStatusCode.Conflict)
            {
                await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict);
            }

            return (response.StatusCode, started?.RunId);
        })).ToList();
        start.Set();
        return await Task.WhenAll(requests);
    }

    private async Task<HttpResponseMessage> SendAsync(string method, string path, string? json)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (json is not null)
        {
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        }

        return await _server.Client.SendAsync(request);
    }

    private async Task StopAndWaitAsync(int runId)
    {
        using var response = await _server.StopRunAsync(runId);
        await _server.WaitForRunAsync(runId, r => r.Status is not ("queued" or "running"), $"run {runId} to end", TimeSpan.FromSeconds(30));
    }
}
