using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Runs.Resilience;

namespace Dashboard.Runs.Execution;

/// <summary>The lease check every write of a run's rows goes through.</summary>
public sealed partial class PersistingObserver
{
    /// <summary>
    /// One write of this run's rows, in a transaction that first checks (and renews) the run's lease: a process that was
    /// presumed dead and replaced finds another token there and writes nothing (<see cref="RunFence"/>). Repeated whole,
    /// in a new context and transaction, while the database is away (<see cref="DatabaseRetry"/>); a lost lease is no
    /// transient failure and ends it at once. <paramref name="write"/> must be safe to repeat after a commit whose
    /// acknowledgement was lost.
    /// </summary>
    private Task FencedAsync(string what, Func<DashboardDbContext, Task> write) =>
        retry.RunAsync(what, async () =>
        {
            await using var db = await dbFactory.CreateDbContextAsync();
            await using var transaction = await db.Database.BeginTransactionAsync();
            await WatchFenceAsync(RunFence.CheckAsync(db, run.RunId, run.LeaseToken));
            await write(db);
            await transaction.CommitAsync();
        });

    /// <summary>
    /// Settles the row of a checkpoint whose folder has reached its final name, under the fence. Refused, the folder can
    /// never become a checkpoint (its row is not written here, and the new holder settles the row as missing), so it is
    /// removed rather than left on disk with no row to account for it.
    /// </summary>
    private async Task SettleWrittenCheckpointAsync(Checkpoint row)
    {
        try
        {
            await SettleRowAsync(row);
        }
        catch (RunFencedException)
        {
            try
            {
                store.Delete(row.Path);
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
