using System.Text.Json;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Policies;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Logging;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Runs.Checkpoints;

/// <summary>
/// Changes to checkpoints: pinning, deletion, retention, orphans and adoption, and the audit. Everything that removes files
/// or starts jobs from a checkpoint goes through one lock, so a file is never deleted while a job is being queued on it.
/// </summary>
public sealed class CheckpointMaintenance(
    IDbContextFactory<DashboardDbContext> dbFactory,
    CheckpointStore store,
    CheckpointVolume volume,
    CheckpointQueries queries,
    CheckpointLoader loader,
    TrainingEventBroadcaster broadcaster,
    RunLog runLog)
{
    private readonly SemaphoreSlim _mutations = new(1, 1);

    /// <summary>
    /// Runs <paramref name="action"/> under the lock that deletion, retention, pinning and job starts take, for work outside
    /// this class (deleting a whole run) that must not interleave with them.
    /// </summary>
    public async Task<T> UnderMutationLockAsync<T>(Func<Task<T>> action, CancellationToken cancellationToken)
    {
        await _mutations.WaitAsync(cancellationToken);
        try
        {
            return await action();
        }
        finally
        {
            _mutations.Release();
        }
    }

    /// <summary>
    /// Pins or unpins a checkpoint. Under the mutation lock, like deletion and retention: a pin read between their check
    /// and their removal would otherwise leave a checkpoint both pinned and deleted.
    /// </summary>
    public Task<ServiceResult<CheckpointDto>> SetPinnedAsync(int checkpointId, bool pinned, CancellationToken cancellationToken = default) =>
        ChangeAsync(checkpointId, async (db, row) =>
        {
            // Its files are gone for good; a pin would promise to keep what no longer exists. Unpinning is always allowed.
            if (pinned && row.Status == CheckpointStatus.Deleted)
            {
                return ServiceResult<CheckpointDto>.Conflict($"Checkpoint {checkpointId} is deleted; there is nothing left to pin.");
            }

            row.Pinned = pinned;
            await db.SaveChangesAsync(cancellationToken);
            return new(CheckpointDto.From(row), Status: 204);
        }, cancellationToken);

    /// <summary>Removes a checkpoint's files and keeps its row as <c>deleted</c>; refused while a job needs it.</summary>
    public Task<ServiceResult<CheckpointDto>> DeleteAsync(int checkpointId, CancellationToken cancellationToken = default) =>
        ChangeAsync(checkpointId, async (db, row) =>
        {
            if (row.Status == CheckpointStatus.Writing)
            {
                return ServiceResult<CheckpointDto>.Conflict($"Checkpoint {checkpointId} is still being written.");
            }

            // Its files may well be on the volume that is away: deleting now would only drop the row and orphan them.
            if (volume.Problem is { } unusable)
            {
                return ServiceResult<CheckpointDto>.Conflict(unusable);
            }

            // Pinned means "keep": retention never removes it, and neither does a stray request; the page asks to unpin first too.
            if (row.Pinned)
            {
                return ServiceResult<CheckpointDto>.Conflict($"Checkpoint {checkpointId} is pinned; unpin it before deleting it.");
            }

            if ((await CheckpointQueries.InUseAsync(db, cancellationToken)).Contains(checkpointId))
            {
                return ServiceResult<CheckpointDto>.Conflict($"Checkpoint {checkpointId} is the starting point of a queued or running run.");
            }

            await RemoveAsync(db, row, cancellationToken);
            return new(CheckpointDto.From(row), Status: 204);
        }, cancellationToken);

    /// <summary>Under the mutation lock, hands the tracked row of a checkpoint to <paramref name="change"/>; NotFound without one.</summary>
    private Task<ServiceResult<CheckpointDto>> ChangeAsync(
        int checkpointId,
        Func<DashboardDbContext, Checkpoint, Task<ServiceResult<CheckpointDto>>> change,
        CancellationToken cancellationToken) =>
        UnderMutationLockAsync(async () =>
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            var row = await db.Checkpoints.SingleOrDefaultAsync(c => c.Id == checkpointId, cancellationToken);
            return row is null ? ServiceResult<CheckpointDto>.NotFound($"There is no checkpoint {checkpointId}.") : await change(db, row);
        }, cancellationToken);

    /// <summary>Lets go of the checkpoints the run's policy no longer keeps.</summary>
    public async Task ApplyRetentionAsync(int runId, CheckpointPolicy policy, CancellationToken cancellationToken = default)
    {
        await _mutations.WaitAsync(cancellationToken);
        try
        {
            // Nothing is let go while the folder is away: the files to remove are not where they should be.
            if (volume.Problem is not null)
            {
                return;
            }

            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            var rows = await CheckpointQueries.Durable(db, runId).ToListAsync(cancellationToken);
            var inUse = await CheckpointQueries.InUseAsync(db, cancellationToken);
            var candidates = rows.Select(r =>
            {
                var metrics = CheckpointDto.From(r).Metrics;
                return new RetentionCandidate(
                    r.Id,
                    r.Epoch,
                    r.Step,
                    AtEpochEnd: r.Kind != CheckpointKind.Interrupt && metrics.ContainsKey("valLoss"),
                    metrics.TryGetValue(policy.Monitor, out var value) ? value : null,
                    r.SizeBytes,
                    r.Pinned,
                    inUse.Contains(r.Id));
            }).ToList();
            var doomed = RetentionPlanner.ToDelete(candidates, policy).ToHashSet();
            foreach (var row in rows.Where(r => doomed.Contains(r.Id)))
            {
                await RemoveAsync(db, row, cancellationToken);
                runLog.Info(runId, $"Removed {row.Kind} checkpoint #{row.Id} (epoch {row.Epoch}, step {row.Step}, {CheckpointStore.FormatBytes(row.SizeBytes)}) by retention.");
            }
        }
        finally
        {
            _mutations.Release();
        }
    }

    /// <summary>
    /// Checkpoint folders on disk that no row knows (a lost database, a copied folder). They are reported, never deleted,
    /// and can be adopted by their manifest's hash.
    /// </summary>
    public async Task<IReadOnlyList<OrphanDto>> OrphansAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var known = (await db.Checkpoints.Select(c => c.Path).ToListAsync(cancellationToken)).ToHashSet();
        var orphans = new List<OrphanDto>();
        foreach (var relative in store.ListFolders().Where(p => !known.Contains(p)))
        {
            if (store.TryReadManifest(relative) is { } found)
            {
                orphans.Add(new OrphanDto(found.Sha256, found.Manifest.Lineage?.RunId, found.Manifest.Position.CompletedEpochs, found.Manifest.Position.GlobalStep, found.Manifest.Kind, found.Manifest.CreatedAtUtc));
            }
        }

        return orphans;
    }

    /// <summary>Gives an orphaned checkpoint folder its row back, after verifying every file, under the run it names.</summary>
    public async Task<ServiceResult<CheckpointDto>> AdoptAsync(string sha256, CancellationToken cancellationToken = default)
    {
        await _mutations.WaitAsync(cancellationToken);
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            var known = (await db.Checkpoints.Select(c => c.Path).ToListAsync(cancellationToken)).ToHashSet();
            var match = store.ListFolders()
                .Where(p => !known.Contains(p))
                .Select(store.TryReadManifest)
                .FirstOrDefault(f => f is not null && string.Equals(f.Sha256, sha256, StringComparison.OrdinalIgnoreCase));
            if (match is null)
            {
                return ServiceResult<CheckpointDto>.NotFound($"No orphaned checkpoint has the manifest hash {sha256}.");
            }

            LoadedCheckpoint loaded;
            try
            {
                loaded = store.Read(match.RelativePath, match.Sha256);
            }
            catch (CheckpointCorruptException e)
            {
                return ServiceResult<CheckpointDto>.Conflict($"That checkpoint fails verification: {e.Message}");
            }

            var runId = loaded.Manifest.Lineage?.RunId;
            if (runId is null || !await db.Runs.AnyAsync(r => r.Id == runId, cancellationToken))
            {
                return ServiceResult<CheckpointDto>.Conflict($"The checkpoint belongs to run {runId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(unknown)"}, which this database does not have; import it as a bundle instead.");
            }

            var row = new Checkpoint
            {
                RunId = runId.Value,
                Epoch = loaded.Manifest.Position.CompletedEpochs,
                Step = loaded.Manifest.Position.GlobalStep,
                MetricsJson = JsonSerializer.Serialize(loaded.Manifest.Metrics, JsonDefaults.Options),
                Path = match.RelativePath,
                SizeBytes = store.SizeOf(match.RelativePath),
                Sha256 = match.Sha256,
                Kind = loaded.Manifest.Kind,
                Status = CheckpointStatus.Durable,
                // A manifest found on disk may spell its time without a zone; PostgreSQL takes only UTC-kind times.
                CreatedAt = loaded.Manifest.CreatedAtUtc.Kind == DateTimeKind.Local
                    ? loaded.Manifest.CreatedAtUtc.ToUniversalTime()
                    : DateTime.SpecifyKind(loaded.Manifest.CreatedAtUtc, DateTimeKind.Utc),
            };
            db.Checkpoints.Add(row);
            await db.SaveChangesAsync(cancellationToken);
            return new(CheckpointDto.From(row), Status: 201);
        }
        finally
        {
            _mutations.Release();
        }
    }

    /// <summary>
    /// The way back after the checkpoint folder was away (<see cref="CheckpointVolume.ReauditAsync"/>), then the hash audit
    /// of every durable checkpoint; 503 while the folder is still unusable.
    /// </summary>
    public async Task<ServiceResult<CheckpointAuditDto>> ReauditAsync(bool acceptMissing, CancellationToken cancellationToken = default)
    {
        var result = await volume.ReauditAsync(acceptMissing, cancellationToken);
        return result.Value is { } report ? new(report with { Failed = report.Failed + await AuditAsync(cancellationToken) }) : result;
    }

    /// <summary>Re-reads every durable checkpoint and marks those whose bytes no longer match their hashes.</summary>
    public async Task<int> AuditAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var ids = await db.Checkpoints.Where(c => c.Status == CheckpointStatus.Durable).OrderBy(c => c.Id).Select(c => c.Id).ToListAsync(cancellationToken);
        var bad = 0;
        foreach (var id in ids)
        {
            try
            {
                // Under the lock, one checkpoint at a time: a run being deleted has its folder renamed away until the rows go,
                // and reading it in between would mark its checkpoints missing, which a crash before the commit would keep.
                await UnderMutationLockAsync(() => loader.LoadAsync(id, cancellationToken), cancellationToken);
            }
            catch (CheckpointUnreadableException)
            {
                // Not read, so not known to be bad; it keeps its status and is read again at the next audit.
            }
            catch (CheckpointCorruptException)
            {
                // One deleted while the audit read it is gone on purpose, not damaged.
                if (await queries.StatusOfAsync(id, cancellationToken) != CheckpointStatus.Deleted)
                {
                    bad++;
                }
            }
        }

        return bad;
    }

    /// <summary>
    /// The row is marked deleted and saved before the files go (the store renames the folder away, then removes it), so a
    /// reader who finds the folder gone finds the row deleted too. A crash after the save leaves a deleted row whose folder
    /// is still there: start-up removes it.
    /// </summary>
    private async Task RemoveAsync(DashboardDbContext db, Checkpoint row, CancellationToken cancellationToken)
    {
        row.Status = CheckpointStatus.Deleted;
        await db.SaveChangesAsync(cancellationToken);
        if (row.Path.Length > 0)
        {
            store.Delete(row.Path);
        }

        broadcaster.Publish(new CheckpointRemovedEvent(row.RunId, CheckpointDto.From(row)));
    }
}
