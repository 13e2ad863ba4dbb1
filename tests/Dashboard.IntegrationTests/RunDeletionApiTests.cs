using System.Net;
using System.Net.Http.Json;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary><c>DELETE /api/runs/{id}</c> against the real server: rows and files gone, and each refusal keeps everything.</summary>
public sealed class RunDeletionApiTests(DashboardServerFixture fixture) : IClassFixture<DashboardServerFixture>
{
    private readonly DashboardServer _server = fixture.Server;

    [Fact]
    public async Task DeleteRun_CompletedRun_Returns204AndItsRowsAndFilesAreGone()
    {
        var run = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 2, name: "delete-completed"));
        await _server.WaitForRunStatusAsync(run.Id, "completed");
        var folder = RunFolder(run.Id);
        Assert.True(Directory.Exists(folder), $"{folder} should hold the run's checkpoints before the delete.");
        var before = await _server.CountRunRowsAsync(run.Id);
        Assert.True(before is { Metrics: 2, Steps: > 0, Checkpoints: 2, Runs: 1 }, $"Unexpected rows before the delete: {before}");

        using var response = await _server.Client.DeleteAsync($"api/runs/{run.Id}");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        using (var gone = await _server.Client.GetAsync($"api/runs/{run.Id}"))
        {
            await ProblemAssert.IsProblemAsync(gone, HttpStatusCode.NotFound);
        }

        Assert.Equal((0, 0, 0, 0, 0), await _server.CountRunRowsAsync(run.Id));
        Assert.False(Directory.Exists(folder), $"{folder} is still on disk.");
        Assert.Empty(Directory.EnumerateDirectories(_server.CheckpointDirectory, $"{Path.GetFileName(folder)}*"));
        using var again = await _server.Client.DeleteAsync($"api/runs/{run.Id}");
        await ProblemAssert.IsProblemAsync(again, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task DeleteRun_UnknownRun_Returns404Problem()
    {
        using var response = await _server.Client.DeleteAsync("api/runs/424242");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Contains("424242", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeleteRun_ForceNotBoolean_Returns400NamingForce()
    {
        using var response = await _server.Client.DeleteAsync("api/runs/1?force=yes");

        await ProblemAssert.IsValidationProblemAsync(response, "force");
    }

    [Fact]
    public async Task DeleteRun_RunningOrQueuedRun_Returns409AndKeepsIt()
    {
        var holder = await _server.CreateRunAsync(RunBodies.SlotHolder("delete-running-holder"));
        var queued = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 1, name: "delete-queued"));
        try
        {
            await _server.WaitForRunStatusAsync(holder.Id, "running");
            Assert.Equal("queued", (await _server.GetRunAsync(queued.Id)).Status);

            foreach (var (id, status) in new[] { (holder.Id, "running"), (queued.Id, "queued") })
            {
                using var response = await _server.Client.DeleteAsync($"api/runs/{id}?force=true");
                var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict);
                Assert.Contains(status, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
                Assert.Equal(id, (await _server.GetRunAsync(id)).Id);
            }
        }
        finally
        {
            (await _server.StopRunAsync(queued.Id)).Dispose();
            (await _server.StopRunAsync(holder.Id)).Dispose();
        }

        await _server.WaitForRunAsync(holder.Id, r => r.Status is not ("queued" or "running"), "the holder to stop", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task DeleteRun_PinnedCheckpoint_Returns409UntilForced()
    {
        var run = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 2, name: "delete-pinned"));
        await _server.WaitForRunStatusAsync(run.Id, "completed");
        var checkpoint = (await _server.GetCheckpointsAsync(run.Id))[0];
        using (var pin = await _server.Client.PostAsync($"api/checkpoints/{checkpoint.Id}/pin", null))
        {
            Assert.Equal(HttpStatusCode.NoContent, pin.StatusCode);
        }

        using (var refused = await _server.Client.DeleteAsync($"api/runs/{run.Id}"))
        {
            var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Conflict);
            Assert.Contains("pinned", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.True(Directory.Exists(RunFolder(run.Id)), "A refused delete removed the run's files.");
        Assert.Equal(2, (await _server.GetCheckpointsAsync(run.Id)).Count);

        using var forced = await _server.Client.DeleteAsync($"api/runs/{run.Id}?force=true");

        Assert.Equal(HttpStatusCode.NoContent, forced.StatusCode);
        Assert.False(Directory.Exists(RunFolder(run.Id)));
        Assert.Equal((0, 0, 0, 0, 0), await _server.CountRunRowsAsync(run.Id));
    }

    [Fact]
    public async Task DeleteRun_FineTunedChild_Returns409NamingTheChildUntilItIsDeleted()
    {
        var parent = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 2, name: "delete-parent"));
        await _server.WaitForRunStatusAsync(parent.Id, "completed");
        var checkpoint = (await _server.GetCheckpointsAsync(parent.Id))[0];
        using var started = await _server.Client.PostAsJsonAsync($"api/checkpoints/{checkpoint.Id}/finetune", new { epochs = 1 });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var child = (await started.Content.ReadFromJsonAsync<RunStartedDto>(DashboardServer.Json))!.RunId;
        await _server.WaitForRunStatusAsync(child, "completed");

        using (var refused = await _server.Client.DeleteAsync($"api/runs/{parent.Id}?force=true"))
        {
            var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Conflict);
            Assert.Contains(child.ToString(System.Globalization.CultureInfo.InvariantCulture), problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.True(Directory.Exists(RunFolder(parent.Id)), "A refused delete removed the parent's files.");
        using (var childDeleted = await _server.Client.DeleteAsync($"api/runs/{child}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, childDeleted.StatusCode);
        }

        using var parentDeleted = await _server.Client.DeleteAsync($"api/runs/{parent.Id}");
        Assert.Equal(HttpStatusCode.NoContent, parentDeleted.StatusCode);
        Assert.False(Directory.Exists(RunFolder(parent.Id)));
    }

    [Fact]
    public async Task Restart_RunFolderRenamedAwayByAnInterruptedDelete_IsRemoved()
    {
        // What a crash between the rename and the removal leaves: the run's folder under its temporary name.
        var leftover = Path.Combine(_server.CheckpointDirectory, "run-999999.tmp-deleting-0123456789abcdef");
        Directory.CreateDirectory(Path.Combine(leftover, "epoch-1"));
        await File.WriteAllTextAsync(Path.Combine(leftover, "epoch-1", "weights.bin"), "left over");

        await _server.StopAsync();
        await _server.RestartAsync();

        Assert.False(Directory.Exists(leftover), $"{leftover} survived a restart.");
    }

    private string RunFolder(int runId) => Path.Combine(_server.CheckpointDirectory, $"run-{runId:D6}");
}
