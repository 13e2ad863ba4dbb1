using Dashboard.ComponentTests.Support;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Runs.Checkpoints;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Services;

/// <summary>
/// Folders that deleted checkpoints left under their names, settled on the test's SQLite file: at the start of the only
/// process on the folder (everything), and by the sweep of several processes (only what no process can be working on).
/// </summary>
public sealed class InterruptedDeletionsTests : DashboardTestContext
{
    [Fact]
    public async Task SettleAllAsync_DeletedCheckpointsFolders_RemovedUnlessALiveCheckpointNowHasTheName()
    {
        var folders = await LeftoversAsync();

        await Services.GetRequiredService<InterruptedDeletions>().SettleAllAsync(CancellationToken.None);

        // Alone on the folder at start, nothing writes meanwhile: a running run's leftovers go too.
        Assert.Equal(
            [(folders.Deleted, false), (folders.DeletedUnfinished, false), (folders.Durable, true), (folders.NameReused, true), (folders.DeletedOfRunning, false)],
            Remaining(folders));
    }

    [Fact]
    public async Task SettleOlderThanAsync_DeletedCheckpointsFolders_AlsoSparesThoseOfARunningRun()
    {
        var folders = await LeftoversAsync();

        var settled = await Services.GetRequiredService<InterruptedDeletions>().SettleOlderThanAsync(TimeSpan.Zero, CancellationToken.None);

        // A running run may be writing a new checkpoint under a deleted one's free name; its row has no path until then.
        Assert.Equal(2, settled);
        Assert.Equal(
            [(folders.Deleted, false), (folders.DeletedUnfinished, false), (folders.Durable, true), (folders.NameReused, true), (folders.DeletedOfRunning, true)],
            Remaining(folders));
    }

    [Fact]
    public async Task SettleOlderThanAsync_LeftoversWrittenJustNow_LeftAlone()
    {
        var folders = await LeftoversAsync();

        var settled = await Services.GetRequiredService<InterruptedDeletions>().SettleOlderThanAsync(TimeSpan.FromHours(1), CancellationToken.None);

        Assert.Equal(0, settled);
        Assert.All(Remaining(folders), f => Assert.True(f.Exists, $"{f.Path} was removed"));
    }

    private sealed record Leftovers(string Deleted, string DeletedUnfinished, string Durable, string NameReused, string DeletedOfRunning);

    /// <summary>
    /// A finished run's deleted checkpoint with its folder, another whose folder lost its manifest, a durable one, a deleted
    /// one whose name a later durable one took; and a running run's deleted checkpoint with its folder.
    /// </summary>
    private async Task<Leftovers> LeftoversAsync()
    {
        var finished = await Database.AddRunAsync("finished");
        var running = await Database.AddRunAsync("running", status: RunStatus.Running);
        var deleted = await Database.AddCheckpointAsync(finished.Id, 1, 0.5, status: CheckpointStatus.Deleted);
        var unfinished = await Database.AddCheckpointAsync(finished.Id, 2, 0.5, status: CheckpointStatus.Deleted);
        var durable = await Database.AddCheckpointAsync(finished.Id, 3, 0.5);
        await Database.AddCheckpointAsync(finished.Id, 4, 0.5, status: CheckpointStatus.Deleted);
        var reused = await Database.AddCheckpointAsync(finished.Id, 4, 0.5);
        var ofRunning = await Database.AddCheckpointAsync(running.Id, 1, 0.5, status: CheckpointStatus.Deleted);
        await using var db = Database.CreateContext();
        var paths = await db.Checkpoints.ToDictionaryAsync(c => c.Id, c => c.Path);
        var folders = new Leftovers(paths[deleted.Id], paths[unfinished.Id], paths[durable.Id], paths[reused.Id], paths[ofRunning.Id]);
        foreach (var path in All(folders))
        {
            var folder = Directory.CreateDirectory(Path.Combine(Store.Root, path)).FullName;
            if (path != folders.DeletedUnfinished)
            {
                await File.WriteAllTextAsync(Path.Combine(folder, CheckpointStore.ManifestFile), "{}");
            }
        }

        return folders;
    }

    private static string[] All(Leftovers folders) =>
        [folders.Deleted, folders.DeletedUnfinished, folders.Durable, folders.NameReused, folders.DeletedOfRunning];

    private List<(string Path, bool Exists)> Remaining(Leftovers folders) => [.. All(folders).Select(p => (p, Store.FolderExists(p)))];

    private CheckpointStore Store => Services.GetRequiredService<CheckpointStore>();
}
