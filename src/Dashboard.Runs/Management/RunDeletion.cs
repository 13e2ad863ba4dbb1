using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Runs.Management;

/// <summary>What deleting a run removes: shown by the page's confirmation before, answered by the API after.</summary>
public sealed record RunDeletionPlan(int RunId, string Name, int Checkpoints, int PinnedCheckpoints, int Epochs);

/// <summary>
/// Deletes a run with its metrics, steps, log, checkpoints and checkpoint files. Refused while the run is queued or running,
/// while it has pinned checkpoints (unless forced), and while other runs were branched or fine-tuned from it: those
/// children name its checkpoints as their parents, and deleting would either break that lineage or delete them too, so the
/// caller is told which runs to delete first.
/// </summary>
/// <remarks>
/// Crash-safe in three steps under the checkpoint mutation lock (so retention, pinning and job starts cannot interleave):
/// the run's checkpoint folder is renamed away (start-up removes such leftovers), then every row goes in one transaction,
/// then the renamed folder is removed. A crash before the commit leaves the rows and a renamed folder, which start-up
/// puts back (the run is whole); a crash after it leaves only the renamed folder, which start-up removes (the run is gone).
/// RunDeletionCrashTests kill the process at both points.
/// </remarks>
public sealed class RunDeletion(
    IDbContextFactory<DashboardDbContext> dbFactory,
    CheckpointStore store,
    CheckpointMaintenance checkpoints,
    CheckpointVolume volume,
    TrainingEventBroadcaster broadcaster,
    ILogger<RunDeletion> logger)
{
    /// <summary>What <see cref="DeleteAsync"/> would remove, or null when there is no such run.</summary>
    public async Task<RunDeletionPlan?> PlanAsync(int runId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var run = await db.Runs.AsNoTracking().SingleOrDefaultAsync(r => r.Id == runId, cancellationToken);
        if (run is null)
        {
            return null;
        }

        var rows = await db.Checkpoints.AsNoTracking()
            .Where(c => c.RunId == runId && c.Status != CheckpointStatus.Deleted)
            .Select(c => c.Pinned)
            .ToListAsync(cancellationToken);
        var epochs = await db.EpochMetrics.CountAsync(m => m.RunId == runId, cancellationToken);
        return new RunDeletionPlan(runId, run.Name, rows.Count, rows.Count(p => p), epochs);
    }

    public Task<ServiceResult<RunDeletionPlan>> DeleteAsync(int runId, bool force, CancellationToken cancellationToken = default) =>
        checkpoints.UnderMutationLockAsync(() => DeleteLockedAsync(runId, force, cancellationToken), cancellationToken);

    private async Task<ServiceResult<RunDeletionPlan>> DeleteLockedAsync(int runId, bool force, CancellationToken cancellationToken)
    {
        var plan = await PlanAsync(runId, cancellationToken);
        if (plan is null)
        {
            return ServiceResult<RunDeletionPlan>.NotFound($"There is no run {runId}.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var run = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == runId, cancellationToken);
        if (run.Status is RunStatus.Queued or RunStatus.Running)
        {
            return ServiceResult<RunDeletionPlan>.Conflict($"Run {runId} is {run.Status}; stop it before deleting it.");
        }

        // Its files may be on the folder that is away: deleting now would drop the rows and orphan them.
        if (volume.Problem is { } unusable)
        {
            return ServiceResult<RunDeletionPlan>.Conflict(unusable);
        }

        var ownCheckpoints = db.Checkpoints.Where(c => c.RunId == runId).Select(c => (int?)c.Id);
        var children = await db.Runs.AsNoTracking()
            .Where(r => r.Id != runId
                && (r.ParentRunId == runId || ownCheckpoints.Contains(r.ParentCheckpointId) || ownCheckpoints.Contains(r.StartCheckpointId)))
            .OrderBy(r => r.Id)
            .Select(r => r.Id)
            .ToListAsync(cancellationToken);
        if (children.Count > 0)
        {
            return ServiceResult<RunDeletionPlan>.Conflict(
                $"Runs {string.Join(", ", children)} were branched or fine-tuned from run {runId}'s checkpoints; delete them first.");
        }

        if (plan.PinnedCheckpoints > 0 && !force)
        {
            return ServiceResult<RunDeletionPlan>.Conflict(
                $"Run {runId} has {plan.PinnedCheckpoints} pinned checkpoint(s); unpin them, or delete with force=true to delete them too.");
        }

        // Rows of this run whose folders are not in the run's folder (none today) are moved away one by one.
        var runFolder = CheckpointStore.RunFolder(runId);
        var paths = await db.Checkpoints.Where(c => c.RunId == runId && c.Path != "").Select(c => c.Path).ToListAsync(cancellationToken);
        var folders = paths.Where(p => !p.StartsWith(runFolder + "/", StringComparison.Ordinal)).Distinct().Prepend(runFolder).ToList();
        var moved = new List<(string Folder, string MovedAway)>();
        foreach (var folder in folders)
        {
            if (store.MoveAway(folder) is { } away)
            {
                moved.Add((folder, away));
            }
        }

        try
        {
            await DeletionHaltPoint.ReachedAsync(DeletionHaltPoint.FolderMovedAway, logger, cancellationToken);
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);

            // The run may name its own newest checkpoint as where it starts from; that reference goes before the checkpoints.
            await db.Runs.Where(r => r.Id == runId).ExecuteUpdateAsync(u => u.SetProperty(r => r.StartCheckpointId, (int?)null), cancellationToken);
            await db.StepMetrics.Where(s => s.RunId == runId).ExecuteDeleteAsync(cancellationToken);
            await db.StepMetricBlocks.Where(b => b.RunId == runId).ExecuteDeleteAsync(cancellationToken);
            await db.EpochMetrics.Where(m => m.RunId == runId).ExecuteDeleteAsync(cancellationToken);
            await db.RunLogEntries.Where(l => l.RunId == runId).ExecuteDeleteAsync(cancellationToken);
            await db.RunSystemSamples.Where(s => s.RunId == runId).ExecuteDeleteAsync(cancellationToken);
            await db.Checkpoints.Where(c => c.RunId == runId).ExecuteDeleteAsync(cancellationToken);
            // The status condition again, inside the transaction: a row queued since the check above is not deleted.
            var deleted = await db.Runs
                .Where(r => r.Id == runId && r.Status != RunStatus.Queued && r.Status != RunStatus.Running)
                .ExecuteDeleteAsync(cancellationToken);
            if (deleted != 1)
            {
                await transaction.RollbackAsync(cancellationToken);
                MoveBack(moved);
                return ServiceResult<RunDeletionPlan>.Conflict($"Run {runId} was queued again while being deleted; it is kept.");
            }

            await transaction.CommitAsync(cancellationToken);
        }
        catch
        {
            MoveBack(moved);
            throw;
        }

        broadcaster.Publish(new RunDeletedEvent(runId));
        await DeletionHaltPoint.ReachedAsync(DeletionHaltPoint.RowsCommitted, logger, cancellationToken);

        foreach (var (_, away) in moved)
        {
            try
            {
                Directory.Delete(away, recursive: true);
            }
            catch (IOException e)
            {
                // The rows are gone and the folder has a temporary name: start-up removes it.
                logger.LogWarning(e, "Could not remove {Folder} yet; start-up will.", away);
            }
        }

        logger.LogInformation("Deleted run {RunId} with {Checkpoints} checkpoint(s).", runId, plan.Checkpoints);
        return new ServiceResult<RunDeletionPlan>(plan, Status: 204);
    }

    private void MoveBack(List<(string Folder, string MovedAway)> moved)
    {
        foreach (var (folder, away) in moved)
        {
            store.MoveBack(away, folder);
        }
    }
}
