using System.Net;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary>
/// SIGKILL in the middle of <c>DELETE /api/runs/{id}</c>, at each step between the folder's rename and its removal (held
/// there by the deletion's test hook), then a restart: the run is either whole (rows, checkpoints and files) or gone
/// (no rows, no folder), never rows without files or files without rows.
/// </summary>
public sealed class RunDeletionCrashTests : IAsyncLifetime
{
    private const string HaltVariable = "DASHBOARD_TEST_HALT_RUN_DELETION";
    private DashboardServer _server = null!;

    public async Task InitializeAsync() => _server = await DashboardServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("moved", true)]
    [InlineData("committed", false)]
    public async Task DeleteRun_KilledAtStep_RestartLeavesRunWholeOrGone(string step, bool kept)
    {
        var run = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 2, name: $"delete-killed-{step}"));
        await _server.WaitForRunStatusAsync(run.Id, "completed");
        var before = await _server.GetCheckpointsAsync(run.Id);
        var rowsBefore = await _server.CountRunRowsAsync(run.Id);
        Assert.True(before.Count == 2 && before.All(c => c.Status == "durable"), $"Unexpected checkpoints before: {string.Join(", ", before.Select(c => c.Status))}");

        // The hook is read at start-up, so the server is restarted with it: only this deletion halts.
        await _server.StopAsync();
        await _server.RestartAsync(new Dictionary<string, string> { [HaltVariable] = step });
        var deletion = _server.Client.DeleteAsync($"api/runs/{run.Id}");
        await Poll.UntilAsync(
            _ => Task.FromResult(_server.Output),
            output => output.Contains($"Run deletion halted at {step}", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30),
            $"the deletion to halt at {step}",
            isFailed: _ => deletion.IsCompleted ? $"the DELETE finished without halting ({deletion.Status})" : null,
            diagnostics: () => _server.OutputTail());
        _server.Kill();
        await Assert.ThrowsAnyAsync<Exception>(() => deletion);

        await _server.RestartAsync(new Dictionary<string, string> { [HaltVariable] = "" });

        var leftovers = Directory.EnumerateDirectories(_server.CheckpointDirectory, $"{Path.GetFileName(RunFolder(run.Id))}*").ToList();
        if (kept)
        {
            Assert.Equal(run.Id, (await _server.GetRunAsync(run.Id)).Id);
            Assert.Equal(rowsBefore, await _server.CountRunRowsAsync(run.Id));
            var after = await _server.GetCheckpointsAsync(run.Id);
            Assert.Equal(before.Select(c => (c.Id, c.Status)), after.Select(c => (c.Id, c.Status)));
            Assert.All(after, c => Assert.Null(CheckpointDisk.Problem(_server.CheckpointDirectory, c)));
            Assert.Equal([RunFolder(run.Id)], leftovers);

            // Whole means usable: it can be deleted for real now.
            using var again = await _server.Client.DeleteAsync($"api/runs/{run.Id}");
            Assert.Equal(HttpStatusCode.NoContent, again.StatusCode);
        }
        else
        {
            using var gone = await _server.Client.GetAsync($"api/runs/{run.Id}");
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
            Assert.Equal((0, 0, 0, 0, 0), await _server.CountRunRowsAsync(run.Id));
            Assert.Empty(leftovers);
        }
    }

    private string RunFolder(int runId) => Path.Combine(_server.CheckpointDirectory, $"run-{runId:D6}");
}
