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
