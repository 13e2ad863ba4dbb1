using System.Net;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary>
/// What killed processes leave where several share the data folder (the job engine on PostgreSQL): start-up leaves it,
/// since a renamed folder may be another process's deletion in progress and an upload file another instance's upload, and
/// every process settles the deletions renamed and removes the uploads unwritten at least <c>Storage:LeftoverSeconds</c> ago.
/// </summary>
public sealed class DistributedDeletionTests : IAsyncLifetime
{
    private const string HaltVariable = "DASHBOARD_TEST_HALT_RUN_DELETION";
    private DashboardServer? _server;

    private DashboardServer Server => _server ?? throw new InvalidOperationException("The dashboard did not start.");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task Start_LeftoversFromLongAgoAndJustNow_OnlyTheOldOnesAreCleared()
    {
        await StartAsync([]);

        // What three deletions that lost their process leave, by hand: one renamed an hour ago, one before the rename time
        // was part of the name, and one renamed a moment ago, as another process's deletion in progress would be.
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var old = Leftover($"run-999997.tmp-deleting-{now - 3600}-{Guid.NewGuid():N}");
        var unnamed = Leftover($"run-999998.tmp-deleting-{Guid.NewGuid():N}");
        var recent = Leftover($"run-999999.tmp-deleting-{now}-{Guid.NewGuid():N}");

        // And two upload files: one a killed instance stopped writing an hour ago, one still arriving elsewhere.
        Directory.CreateDirectory(Server.UploadDirectory);
        var oldUpload = Path.Combine(Server.UploadDirectory, $"upload-{Guid.NewGuid():N}.part");
        var newUpload = Path.Combine(Server.UploadDirectory, $"upload-{Guid.NewGuid():N}.part");
        await File.WriteAllTextAsync(oldUpload, "left over");
        await File.WriteAllTextAsync(newUpload, "arriving");
        File.SetLastWriteTimeUtc(oldUpload, DateTime.UtcNow.AddHours(-1));
        await Server.StopAsync();
        await Server.RestartAsync();

        // The first look is at start; the next one is LeftoverSeconds (600 by default) later.
        await Poll.UntilAsync(
            _ => Task.FromResult(Directory.Exists(old) || Directory.Exists(unnamed) || File.Exists(oldUpload)),
            left => !left,
            TimeSpan.FromSeconds(60),
            "the old renamed folders and the old upload to be removed",
            diagnostics: () => Server.OutputTail());
        Assert.True(Directory.Exists(recent), "a folder renamed a moment ago was removed: it may be a deletion in progress elsewhere");
        Assert.True(File.Exists(newUpload), "an upload written a moment ago was removed: it may be arriving at another instance");
        Assert.Contains("a deletion that was interrupted after the database changed", Server.Output, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData("moved", true)]
    [InlineData("committed", false)]
    public async Task DeleteRun_KilledAtStep_SettledOnceTheRenameIsOldEnough(string step, bool kept)
    {
        await StartAsync(new Dictionary<string, string> { ["Storage:LeftoverSeconds"] = "2" });
        var run = await Server.CreateRunAsync(RunBodies.Spirals(epochs: 2, name: $"delete-killed-{step}"));
        await Server.WaitForRunStatusAsync(run.Id, "completed");
        var before = await Server.GetCheckpointsAsync(run.Id);
        var rowsBefore = await Server.CountRunRowsAsync(run.Id);
        Assert.True(before.Count == 2 && before.All(c => c.Status == "durable"), $"Unexpected checkpoints before: {string.Join(", ", before.Select(c => c.Status))}");

        await Server.StopAsync();
        await Server.RestartAsync(new Dictionary<string, string> { [HaltVariable] = step });
        var deletion = Server.Client.DeleteAsync($"api/runs/{run.Id}");
        await Poll.UntilAsync(
            _ => Task.FromResult(Server.Output),
            output => output.Contains($"Run deletion halted at {step}", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30),
            $"the deletion to halt at {step}",
            isFailed: _ => deletion.IsCompleted ? $"the DELETE finished without halting ({deletion.Status})" : null,
            diagnostics: () => Server.OutputTail());
        Server.Kill();
        await Assert.ThrowsAnyAsync<Exception>(() => deletion);
        await Server.RestartAsync(new Dictionary<string, string> { [HaltVariable] = "" });

        var runFolder = Path.Combine(Server.CheckpointDirectory, $"run-{run.Id:D6}");
        var leftovers = await Poll.UntilAsync(
            _ => Task.FromResult(Directory.EnumerateDirectories(Server.CheckpointDirectory, $"{Path.GetFileName(runFolder)}*").ToList()),
            folders => kept ? folders.SequenceEqual([runFolder]) : folders.Count == 0,
            TimeSpan.FromSeconds(60),
            kept ? "the run's folder to be put back" : "the renamed folder to be removed",
            diagnostics: () => Server.OutputTail());

        if (kept)
        {
            Assert.Equal(rowsBefore, await Server.CountRunRowsAsync(run.Id));
            var after = await Server.GetCheckpointsAsync(run.Id);
            Assert.Equal(before.Select(c => (c.Id, c.Status)), after.Select(c => (c.Id, c.Status)));
            Assert.All(after, c => Assert.Null(CheckpointDisk.Problem(Server.CheckpointDirectory, c)));

            // Whole means usable: it can be deleted for real now.
            using var again = await Server.Client.DeleteAsync($"api/runs/{run.Id}");
            Assert.Equal(HttpStatusCode.NoContent, again.StatusCode);
        }
        else
        {
            using var gone = await Server.Client.GetAsync($"api/runs/{run.Id}");
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
            Assert.Equal((0, 0, 0, 0, 0), await Server.CountRunRowsAsync(run.Id));
            Assert.Empty(leftovers);
        }
    }

    private string Leftover(string name)
    {
        var folder = Path.Combine(Server.CheckpointDirectory, name);
        Directory.CreateDirectory(Path.Combine(folder, "epoch-1"));
        File.WriteAllText(Path.Combine(folder, "epoch-1", "weights.bin"), "left over");
        return folder;
    }

    private async Task StartAsync(Dictionary<string, string> settings)
    {
        foreach (var (key, value) in await PostgresTestSettings.RequireAsync())
        {
            settings[key] = value;
        }

        _server = await DashboardServer.StartAsync(settings);
    }
}
