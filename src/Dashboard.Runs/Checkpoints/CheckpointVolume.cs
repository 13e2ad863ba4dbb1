using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Runs.Checkpoints;

/// <summary>What a re-audit did: missing checkpoints whose files came back and verify, those still missing, and those now failing.</summary>
public sealed record CheckpointAuditDto(int Restored, int StillMissing, int Failed);

/// <summary>
/// Whether the checkpoint folder as a whole is usable, told apart from single checkpoints being gone. An unmounted volume,
/// a moved folder or an unreadable one would otherwise look like every checkpoint vanishing at once and be marked missing
/// for good. While the folder is unusable nothing is marked, /healthz answers 503, and a re-audit brings it back.
/// </summary>
public sealed class CheckpointVolume(
    IDbContextFactory<DashboardDbContext> dbFactory,
    CheckpointStore store,
    TrainingEventBroadcaster broadcaster,
    ILogger<CheckpointVolume> logger)
{
    private volatile string? _problem;
    private volatile bool _markerExpected;

    /// <summary>Why the checkpoint folder cannot be used right now; null when it can.</summary>
    public string? Problem => _problem;

    /// <summary>
    /// Checks the folder against what the database lists and remembers the answer: usable when it can be listed and carries
    /// the dashboard's marker file, or (a store made before the marker, or a fresh one) when at least one listed checkpoint
    /// is there or none is listed; the marker is then written. Null when usable, else the problem.
    /// </summary>
    public async Task<string?> AssessAsync(CancellationToken cancellationToken)
    {
        _problem = await FindProblemAsync(cancellationToken);
        _markerExpected = _problem is null;
        return _problem;
    }

    /// <summary>
    /// True when the folder was usable and its marker has gone since: the volume went away while the dashboard ran. The
    /// caller then treats a missing file as unreadable, not missing; the problem is remembered until a re-audit.
    /// </summary>
    public bool WentAway()
    {
        if (!_markerExpected || store.HasVolumeMarker())
        {
            return false;
        }

        _problem ??= $"The checkpoint folder {store.Root} lost its marker file {CheckpointStore.VolumeMarkerFile} while the dashboard ran: "
            + "the volume looks unmounted. No checkpoint was marked missing; mount it and POST /api/checkpoints/audit.";
        return true;
    }

    /// <summary>
    /// Marks durable checkpoints whose folder is not there as missing, one by one; a folder that cannot be looked at is left
    /// as it is. Only for a folder found usable. Returns how many were marked and how many could not be looked at.
    /// </summary>
    public async Task<(int Missing, int Unreadable)> MarkAbsentAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var missing = 0;
        var unreadable = 0;
        foreach (var checkpoint in await db.Checkpoints.Where(c => c.Status == CheckpointStatus.Durable).ToListAsync(cancellationToken))
        {
            switch (ProbeOrNull(checkpoint.Path))
            {
                case false:
                    missing += await db.Checkpoints
                        .Where(c => c.Id == checkpoint.Id && c.Status == CheckpointStatus.Durable)
                        .ExecuteUpdateAsync(u => u.SetProperty(c => c.Status, CheckpointStatus.Missing), cancellationToken);
                    break;
                case null:
                    unreadable++;
                    break;
            }
        }

        return (missing, unreadable);
    }

    /// <summary>
    /// The way back: checks the folder again and, when it is usable, turns missing checkpoints whose files are back and
    /// verify durable again, and marks durable ones whose folders are gone missing. With <paramref name="acceptMissing"/>
    /// an empty folder without its marker is taken as the right one (the checkpoints were removed on purpose).
    /// </summary>
    public async Task<ServiceResult<CheckpointAuditDto>> ReauditAsync(bool acceptMissing, CancellationToken cancellationToken)
    {
        if (acceptMissing && store.RootProblem() is null)
        {
            store.WriteVolumeMarker();
        }

        if (await AssessAsync(cancellationToken) is { } problem)
        {
            return new(default, null, ServiceStatus.ServiceUnavailable, problem);
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var restored = 0;
        var stillMissing = 0;
        var failed = 0;
        foreach (var row in await db.Checkpoints.AsNoTracking().Where(c => c.Status == CheckpointStatus.Missing).ToListAsync(cancellationToken))
        {
            // A write that failed left no path: there never were files to come back.
            var status = row.Path.Length == 0 ? CheckpointStatus.Missing : Verify(row);
            if (status == CheckpointStatus.Missing)
            {
                stillMissing++;
                continue;
            }

            // Only a row still missing changes: one deleted meanwhile stays deleted.
            var changed = await db.Checkpoints
                .Where(c => c.Id == row.Id && c.Status == CheckpointStatus.Missing)
                .ExecuteUpdateAsync(u => u.SetProperty(c => c.Status, status), cancellationToken);
            if (changed == 1 && status == CheckpointStatus.Durable)
            {
                restored++;
                row.Status = status;
                broadcaster.Publish(new CheckpointSavedEvent(row.RunId, CheckpointDto.From(row)));
            }
            else if (changed == 1)
            {
                failed++;
            }
        }

        var (missing, _) = await MarkAbsentAsync(cancellationToken);
        logger.LogInformation("Re-audit: {Restored} checkpoint(s) restored, {Missing} still missing, {Failed} failed verification.", restored, stillMissing + missing, failed);
        return new(new CheckpointAuditDto(restored, stillMissing + missing, failed));
    }

    private async Task<string?> FindProblemAsync(CancellationToken cancellationToken)
    {
        if (store.RootProblem() is { } unreadable)
        {
            return $"The checkpoint folder is unusable: {unreadable}. No checkpoint was marked missing; fix it and POST /api/checkpoints/audit.";
        }

        if (store.HasVolumeMarker())
        {
            return null;
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var known = await db.Checkpoints
            .Where(c => c.Status == CheckpointStatus.Durable && c.Path != "")
            .Select(c => c.Path)
            .ToListAsync(cancellationToken);
        if (known.Count > 0 && !known.Any(path => ProbeOrNull(path) == true))
        {
            return $"None of the {known.Count} checkpoint(s) the database lists is in {store.Root}, which also lacks its marker file "
                + $"{CheckpointStore.VolumeMarkerFile}: the volume looks unmounted or the folder moved. No checkpoint was marked missing; "
                + "mount it and POST /api/checkpoints/audit (if they were deleted on purpose: POST /api/checkpoints/audit?acceptMissing=true).";
        }

        try
        {
            store.WriteVolumeMarker();
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"The checkpoint folder {store.Root} is not writable: {e.Message}";
        }
    }

    /// <summary>True when the manifest is there, false when it is not, null when the folder could not be looked at.</summary>
    private bool? ProbeOrNull(string path)
    {
        try
        {
            return path.Length > 0 && store.Probe(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("Checkpoint folder {Path} could not be looked at: {Message}", path, e.Message);
            return null;
        }
    }

    /// <summary>Durable when the files are there and verify, corrupt when they are there and do not, missing otherwise.</summary>
    private string Verify(Checkpoint row)
    {
        try
        {
            store.Read(row.Path, row.Sha256);
            return CheckpointStatus.Durable;
        }
        catch (CheckpointUnreadableException)
        {
            return CheckpointStatus.Missing;
        }
        catch (CheckpointCorruptException)
        {
            return ProbeOrNull(row.Path) == true ? CheckpointStatus.Corrupt : CheckpointStatus.Missing;
        }
    }
}
