using System.Net;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary>
/// A SIGKILL in the middle of <c>DELETE /api/runs/{id}</c>, held at one of its steps by the deletion's test hook, and what
/// must hold afterwards: the run whole (rows, checkpoints, files) or gone (no rows, no folder).
/// </summary>
internal static class DeletionKill
{
    private const string HaltVariable = "DASHBOARD_TEST_HALT_RUN_DELETION";

    /// <summary>A completed two-epoch run and what it had before the deletion.</summary>
    public sealed record Deleted(RunDto Run, IReadOnlyList<CheckpointDto> Checkpoints, (int, int, int, int, int) Rows);

    /// <summary>Trains a run, starts deleting it, kills the server at <paramref name="step"/>, and starts it again.</summary>
    public static async Task<Deleted> KillDuringDeleteAsync(DashboardServer server, string step)
    {
        var run = await server.CreateRunAsync(RunBodies.Spirals(epochs: 2, name: $"delete-killed-{step}"));
        await server.WaitForRunStatusAsync(run.Id, "completed");
        var before = await server.GetCheckpointsAsync(run.Id);
        var rows = await server.CountRunRowsAsync(run.Id);
        Assert.True(before.Count == 2 && before.All(c => c.Status == "durable"), $"Unexpected checkpoints before: {string.Join(", ", before.Select(c => c.Status))}");

        // The hook is read at start-up, so the server is restarted with it: only this deletion halts.
        await server.StopAsync();
        await server.RestartAsync(new Dictionary<string, string> { [HaltVariable] = step });
        var deletion = server.Client.DeleteAsync($"api/runs/{run.Id}");
        await Poll.UntilAsync(
            _ => Task.FromResult(server.Output),
            output => output.Contains($"Run deletion halted at {step}", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30),
            $"the deletion to halt at {step}",
            isFailed: _ => deletion.IsCompleted ? $"the DELETE finished without halting ({deletion.Status})" : null,
            diagnostics: () => server.OutputTail());
        server.Kill();
        await Assert.ThrowsAnyAsync<Exception>(() => deletion);

        await server.RestartAsync(new Dictionary<string, string> { [HaltVariable] = "" });
        return new(run, before, rows);
    }

    /// <summary>The run's folders on disk: under its name, or renamed away.</summary>
    public static List<string> Folders(DashboardServer server, int runId) =>
        [.. Directory.EnumerateDirectories(server.CheckpointDirectory, $"{Path.GetFileName(RunFolder(server, runId))}*")];

    public static string RunFolder(DashboardServer server, int runId) => Path.Combine(server.CheckpointDirectory, $"run-{runId:D6}");

    /// <summary>Rows, checkpoints and files as before; and whole means usable: it can be deleted for real.</summary>
    public static async Task AssertWholeAsync(DashboardServer server, Deleted deleted)
    {
        var runId = deleted.Run.Id;
        Assert.Equal(runId, (await server.GetRunAsync(runId)).Id);
        Assert.Equal(deleted.Rows, await server.CountRunRowsAsync(runId));
        var after = await server.GetCheckpointsAsync(runId);
        Assert.Equal(deleted.Checkpoints.Select(c => (c.Id, c.Status)), after.Select(c => (c.Id, c.Status)));
        Assert.All(after, c => Assert.Null(CheckpointDisk.Problem(server.CheckpointDirectory, c)));
        Assert.Equal([RunFolder(server, runId)], Folders(server, runId));

        using var again = await server.Client.DeleteAsync($"api/runs/{runId}");
        Assert.Equal(HttpStatusCode.NoContent, again.StatusCode);
    }

    /// <summary>No run, no rows, no folder under any name.</summary>
    public static async Task AssertGoneAsync(DashboardServer server, Deleted deleted)
    {
        using var gone = await server.Client.GetAsync($"api/runs/{deleted.Run.Id}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal((0, 0, 0, 0, 0), await server.CountRunRowsAsync(deleted.Run.Id));
        Assert.Empty(Folders(server, deleted.Run.Id));
    }
}
