using Dashboard.Data.Entities;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.IntegrationTests;

/// <summary>
/// What killed processes leave where several share the data folder (the job engine on PostgreSQL): start-up leaves it,
/// since a renamed folder may be another process's deletion in progress and an upload file another instance's upload, and
/// every process settles the deletions renamed and removes the uploads unwritten at least <c>Storage:LeftoverSeconds</c> ago.
/// </summary>
public sealed class DistributedDeletionTests : IAsyncLifetime
{
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

        // Two checkpoints whose deletion marked their rows and was killed before their files went: one written an hour
        // ago, one a moment ago (as a checkpoint just written anew under a deleted one's name, its row not yet pointing
        // at it, would look).
        var run = await Server.CreateRunAsync(RunBodies.Spirals(epochs: 2, name: "files of deleted checkpoints"));
        await Server.WaitForRunStatusAsync(run.Id, "completed");
        var (oldFiles, newFiles) = await MarkDeletedAsync(run.Id);
        Directory.SetLastWriteTimeUtc(oldFiles, DateTime.UtcNow.AddHours(-1));

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
            _ => Task.FromResult(Directory.Exists(old) || Directory.Exists(unnamed) || File.Exists(oldUpload) || Directory.Exists(oldFiles)),
            left => !left,
            TimeSpan.FromSeconds(60),
            "the old renamed folders, the old upload and the old deleted checkpoint's files to be removed",
            diagnostics: () => Server.OutputTail());
        Assert.True(Directory.Exists(newFiles), "a deleted checkpoint's folder written a moment ago was removed: it may be a new checkpoint's");
        Assert.True(Directory.Exists(recent), "a folder renamed a moment ago was removed: it may be a deletion in progress elsewhere");
        Assert.True(File.Exists(newUpload), "an upload written a moment ago was removed: it may be arriving at another instance");
        Assert.Contains("a deletion that was interrupted after the database changed", Server.Output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Sweep_DeletedCheckpointsFilesOfARunningRun_LeftUntilTheRunStops()
    {
        await StartAsync(new Dictionary<string, string> { ["Storage:LeftoverSeconds"] = "1" });
        var run = await Server.CreateRunAsync(RunBodies.LongCnn(name: "running while its deleted checkpoint's files stay"));
        await Server.WaitForCheckpointsAsync(run.Id, 1);
        var (files, _) = await MarkDeletedAsync(run.Id);
        Directory.SetLastWriteTimeUtc(files, DateTime.UtcNow.AddHours(-1));

        // Two renamed folders settled one after the other: the second was made after the first was gone, so a whole sweep
        // began after the row was marked, and found the run running.
        for (var i = 0; i < 2; i++)
        {
            var witness = Leftover($"run-99999{i}.tmp-deleting-{DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3600}-{Guid.NewGuid():N}");
            await Poll.UntilAsync(_ => Task.FromResult(Directory.Exists(witness)), left => !left, TimeSpan.FromSeconds(60), "a sweep", diagnostics: () => Server.OutputTail());
        }

        Assert.True(Directory.Exists(files), "a running run's deleted checkpoint's files were removed: a checkpoint it writes anew under that name would look the same");
        Assert.Equal("running", (await Server.GetRunAsync(run.Id)).Status);

        using var stop = await Server.StopRunAsync(run.Id);
        await Server.WaitForRunStatusAsync(run.Id, "stopped", TimeSpan.FromSeconds(60));
        await Poll.UntilAsync(_ => Task.FromResult(Directory.Exists(files)), left => !left, TimeSpan.FromSeconds(60), "the files to be removed", diagnostics: () => Server.OutputTail());
    }

    [SkippableTheory]
    [InlineData("moved", true)]
    [InlineData("committed", false)]
    public async Task DeleteRun_KilledAtStep_SettledOnceTheRenameIsOldEnough(string step, bool kept)
    {
        await StartAsync(new Dictionary<string, string> { ["Storage:LeftoverSeconds"] = "2" });
        var deleted = await DeletionKill.KillDuringDeleteAsync(Server, step);

        var runFolder = DeletionKill.RunFolder(Server, deleted.Run.Id);
        await Poll.UntilAsync(
            _ => Task.FromResult(DeletionKill.Folders(Server, deleted.Run.Id)),
            folders => kept ? folders.SequenceEqual([runFolder]) : folders.Count == 0,
            TimeSpan.FromSeconds(60),
            kept ? "the run's folder to be put back" : "the renamed folder to be removed",
            diagnostics: () => Server.OutputTail());
        if (kept)
        {
            await DeletionKill.AssertWholeAsync(Server, deleted);
        }
        else
        {
            await DeletionKill.AssertGoneAsync(Server, deleted);
        }
    }

    /// <summary>
    /// What a checkpoint deletion killed between its two steps leaves: the run's first two checkpoints marked deleted
    /// (the second only if there is one), their files still there. Returns their folders.
    /// </summary>
    private async Task<(string First, string Second)> MarkDeletedAsync(int runId)
    {
        var rows = await Server.ReadDatabaseAsync(db => db.Checkpoints
            .Where(c => c.RunId == runId && c.Status == CheckpointStatus.Durable).OrderBy(c => c.Id).Take(2)
            .Select(c => new { c.Id, c.Path }).ToListAsync());
        var ids = rows.Select(c => c.Id).ToList();
        await Server.ReadDatabaseAsync(db => db.Checkpoints.Where(c => ids.Contains(c.Id))
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.Status, CheckpointStatus.Deleted)));
        var folders = rows.Select(c => Path.Combine(Server.CheckpointDirectory, c.Path)).ToList();
        Assert.All(folders, f => Assert.True(Directory.Exists(f), f));
        return (folders[0], folders.Count > 1 ? folders[1] : "");
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
