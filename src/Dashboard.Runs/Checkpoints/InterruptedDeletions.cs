using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Runs.Checkpoints;

/// <summary>
/// Settles deletions a crash cut short, so a run or checkpoint is either whole or gone. Deleting a run renames its folder
/// away, drops the rows, then removes the folder: a crash before the rows went leaves rows that still name the folder, and
/// it is put back; after, the folder is removed. Removing a checkpoint marks its row deleted first, then renames and
/// removes the folder: a crash in between leaves a deleted row's folder (under its name or renamed away), removed here.
/// </summary>
public sealed class InterruptedDeletions(IDbContextFactory<DashboardDbContext> dbFactory, CheckpointStore store, ILogger<InterruptedDeletions> logger)
{
    /// <summary>
    /// At the start of the only process that uses the checkpoint folder: nothing deletes or writes meanwhile, so every
    /// leftover is settled at once.
    /// </summary>
    public Task SettleAllAsync(CancellationToken cancellationToken) => SettleAsync(before: null, cancellationToken);

    /// <summary>
    /// Where several processes share the checkpoint folder: only what no process can still be working on. Folders renamed
    /// away at least <paramref name="minimumAge"/> ago (a deletion's rows change within seconds of its rename), and
    /// deleted rows' folders still under their names that were last written at least that long ago and whose run is not
    /// running: a checkpoint a running run writes anew under a deleted one's free name has no path in its row until its
    /// files are durable, so it would look the same, but it is fresh. Returns how many folders were put back or removed.
    /// </summary>
    public Task<int> SettleOlderThanAsync(TimeSpan minimumAge, CancellationToken cancellationToken) =>
        SettleAsync(DateTime.UtcNow - minimumAge, cancellationToken);

    /// <summary>Settles what was left before <paramref name="before"/>; everything, sparing no running run, when null.</summary>
    private async Task<int> SettleAsync(DateTime? before, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var settled = 0;
        var spareRunning = before is not null;

        // From the folders on disk to their rows, not from the deleted rows to the disk: deleted rows pile up with every
        // checkpoint retention ever removed, and looking each one up (on a shared network volume, a round trip apiece) at
        // every start or sweep would grow with them; the folders are only what is kept. A checkpoint's folder lies in its
        // run's folder. Listed whole first, as removing folders while listing their parent may skip or repeat entries.
        var folders = store.ListNamedFolders().Where(p => before is not { } limit || store.LastWrittenUtc(p) <= limit).ToList();
        foreach (var chunk in folders.Chunk(QueryChunk))
        {
            var runIds = chunk.Select(CheckpointStore.RunIdOf).OfType<int>().Distinct().ToList();

            // A later checkpoint may have been written under a deleted one's free name; that folder is the later one's.
            var deleted = await db.Checkpoints
                .Where(c => runIds.Contains(c.RunId) && chunk.Contains(c.Path) && c.Status == CheckpointStatus.Deleted
                    && !db.Checkpoints.Any(o => o.RunId == c.RunId && o.Path == c.Path && o.Status != CheckpointStatus.Deleted)
                    && !(spareRunning && db.Runs.Any(r => r.Id == c.RunId && r.Status == RunStatus.Running)))
                .Select(c => c.Path)
                .Distinct()
                .ToListAsync(cancellationToken);
            foreach (var path in deleted)
            {
                // Another process may remove it at the same moment (the deletion that marked it, or another sweep): the
                // loser finds it gone and removes nothing.
                if (RemoveFolderOfDeleted(path))
                {
                    settled++;
                }
            }
        }

        var movedAway = store.ListMovedAway().Where(f => before is not { } limit || f.MovedAtUtc is not { } at || at <= limit).ToList();
        if (movedAway.Count > 0)
        {
            var live = (await db.Checkpoints.Where(c => c.Path != "" && c.Status != CheckpointStatus.Deleted).Select(c => c.Path).ToListAsync(cancellationToken)).ToHashSet();
            settled += await SettleMovedAwayAsync(db, live, movedAway, cancellationToken);
        }

        return settled;
    }

    /// <summary>Paths looked up in one query: well within the parameter limits of SQLite and PostgreSQL.</summary>
    private const int QueryChunk = 500;

    /// <summary>Removes a deleted checkpoint's folder still under its name; false when it was already gone.</summary>
    private bool RemoveFolderOfDeleted(string path)
    {
        if (!store.Delete(path))
        {
            return false;
        }

        logger.LogWarning("Removed {Folder}: its checkpoint was deleted but the files were not yet removed.", path);
        return true;
    }

    /// <summary>
    /// Puts a folder back where rows that are not deleted still name it (and its name is free), and removes it otherwise.
    /// A folder another process settles or removes first is passed by.
    /// </summary>
    private async Task<int> SettleMovedAwayAsync(DashboardDbContext db, HashSet<string> live, IReadOnlyList<MovedAwayFolder> movedAway, CancellationToken cancellationToken)
    {
        var settled = 0;
        foreach (var folder in movedAway)
        {
            var relative = folder.RelativePath;
            try
            {
                if (live.Any(p => p == relative || p.StartsWith(relative + "/", StringComparison.Ordinal)))
                {
                    if (store.FolderExists(relative))
                    {
                        // Its name was taken again meanwhile: the rows name that folder now.
                        logger.LogWarning("Removing {Folder}: renamed away by a deletion, and its name is in use again.", folder.Path);
                        Directory.Delete(folder.Path, recursive: true);
                        settled++;
                        continue;
                    }

                    logger.LogWarning("Putting {Folder} back: its deletion was interrupted before the database changed.", relative);
                    store.MoveBack(folder.Path, relative);
                    settled++;

                    // A reader that looked while the folder was away marked its checkpoints missing; their files are back.
                    foreach (var row in await db.Checkpoints
                                 .Where(c => c.Status == CheckpointStatus.Missing && (c.Path == relative || c.Path.StartsWith(relative + "/")))
                                 .ToListAsync(cancellationToken))
                    {
                        row.Status = store.Exists(row.Path) ? CheckpointStatus.Durable : row.Status;
                    }

                    await db.SaveChangesAsync(cancellationToken);
                }
                else
                {
                    logger.LogWarning("Removing {Folder}: a deletion that was interrupted after the database changed.", folder.Path);
                    Directory.Delete(folder.Path, recursive: true);
                    settled++;
                }
            }
            catch (DirectoryNotFoundException) when (!Directory.Exists(folder.Path))
            {
                // Settled by another process first.
            }
        }

        return settled;
    }
}
