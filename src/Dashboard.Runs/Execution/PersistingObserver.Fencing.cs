using Dashboard.Data;

namespace Dashboard.Runs.Execution;

/// <summary>The lease check every write of a run's rows goes through.</summary>
public sealed partial class PersistingObserver
{
    /// <summary>
    /// One write of this run's rows, in a transaction that first checks (and renews) the run's lease: a process that was
    /// presumed dead and replaced finds another token there and writes nothing (<see cref="RunFence"/>).
    /// </summary>
    private async Task FencedAsync(Func<DashboardDbContext, Task> write)
    {
        await using var db = await dbFactory.CreateDbContextAsync();
        await using var transaction = await db.Database.BeginTransactionAsync();
        await WatchFenceAsync(RunFence.CheckAsync(db, run.RunId, run.LeaseToken));
        await write(db);
        await transaction.CommitAsync();
    }

    /// <summary>
    /// The fence check of a checkpoint whose folder has reached its final name. Refused, the folder can never become a
    /// checkpoint (its row is not written here, and the new holder settles the row as missing), so it is removed rather
    /// than left on disk with no row to account for it.
    /// </summary>
    private async Task FenceWrittenCheckpointAsync(DashboardDbContext db, string relativePath)
    {
        try
        {
            await WatchFenceAsync(RunFence.CheckAsync(db, run.RunId, run.LeaseToken));
        }
        catch (RunFencedException)
        {
            try
            {
                store.Delete(relativePath);
            }
            catch (IOException)
            {
                // Left as it was before this clean-up existed: an orphan folder, which costs room but misleads nobody.
            }

            throw;
        }
    }

    /// <summary>Notes a lost lease and stops training at once: every batch trained from here on could only be thrown away.</summary>
    private async Task WatchFenceAsync(Task write)
    {
        try
        {
            await write;
        }
        catch (RunFencedException)
        {
            Fenced = true;
            await _writeFailed.CancelAsync();
            throw;
        }
    }
}
