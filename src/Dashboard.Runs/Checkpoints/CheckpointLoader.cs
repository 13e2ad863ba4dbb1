using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Runs.Checkpoints;

/// <summary>Reads and verifies checkpoint files; a checkpoint whose bytes fail their hashes is marked and announced once.</summary>
public sealed class CheckpointLoader(
    IDbContextFactory<DashboardDbContext> dbFactory,
    CheckpointStore store,
    CheckpointVolume volume,
    CheckpointQueries queries,
    TrainingEventBroadcaster broadcaster,
    ILogger<CheckpointLoader> logger)
{
    /// <summary>Reads and verifies a checkpoint for training; a bad one is marked corrupt and never offered again.</summary>
    public async Task<LoadedCheckpoint> LoadAsync(int checkpointId, CancellationToken cancellationToken = default)
    {
        if (volume.Problem is { } unusable)
        {
            throw new CheckpointUnreadableException(unusable);
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var row = await db.Checkpoints.SingleAsync(c => c.Id == checkpointId, cancellationToken);
        try
        {
            return store.Read(row.Path, row.Sha256);
        }
        catch (CheckpointUnreadableException e)
        {
            // An I/O error says nothing about the bytes: the row keeps its status, and the caller is refused for now.
            logger.LogWarning("Checkpoint {Id} could not be read: {Reason}", checkpointId, e.Message);
            throw;
        }
        catch (CheckpointCorruptException e) when (volume.WentAway())
        {
            // The whole folder went away, not this checkpoint: nothing is marked until it is back and re-audited.
            throw new CheckpointUnreadableException(volume.Problem ?? e.Message, e);
        }
        catch (CheckpointCorruptException e)
        {
            // Only a row that is still durable is marked: retention or a user may have deleted the checkpoint while it was
            // being read (the audit reads without the mutation lock), and its row must stay deleted, not turn missing.
            var status = store.Exists(row.Path) ? CheckpointStatus.Corrupt : CheckpointStatus.Missing;
            var marked = await db.Checkpoints
                .Where(c => c.Id == checkpointId && c.Status == CheckpointStatus.Durable)
                .ExecuteUpdateAsync(u => u.SetProperty(c => c.Status, status), CancellationToken.None);
            if (marked == 1)
            {
                logger.LogError("Checkpoint {Id} failed verification: {Reason}", checkpointId, e.Message);

                // Lost for every purpose as surely as a deleted one: pages and hub clients hear of it the same way.
                row.Status = status;
                broadcaster.Publish(new CheckpointRemovedEvent(row.RunId, CheckpointDto.From(row)));
            }

            throw;
        }
    }

    /// <summary>
    /// Reads and verifies a checkpoint for an action (export, evaluation): NotFound for an unknown id, Conflict when it is
    /// not durable or its files fail their hashes (it is then marked corrupt or missing).
    /// </summary>
    public async Task<ServiceResult<LoadedCheckpoint>> LoadDurableAsync(int checkpointId, CancellationToken cancellationToken = default)
    {
        if (await queries.StatusOfAsync(checkpointId, cancellationToken) is not { } status)
        {
            return ServiceResult<LoadedCheckpoint>.NotFound($"There is no checkpoint {checkpointId}.");
        }

        if (status != CheckpointStatus.Durable)
        {
            return ServiceResult<LoadedCheckpoint>.Conflict($"Checkpoint {checkpointId} is {status}; only durable checkpoints can be used.");
        }

        try
        {
            return new(await LoadAsync(checkpointId, cancellationToken));
        }
        catch (CheckpointCorruptException e)
        {
            return ServiceResult<LoadedCheckpoint>.Conflict(await DamagedAsync(checkpointId, e));
        }
    }

    /// <summary>
    /// Verifies a checkpoint's files before a job is queued on it, so a damaged one is refused now (Conflict, with why)
    /// rather than failing the run later. A sound one comes back as read, for the queue to hand to the executor.
    /// </summary>
    public async Task<ServiceResult<VerifiedCheckpoint>> VerifyAsync(int checkpointId, CancellationToken cancellationToken)
    {
        try
        {
            return new(new VerifiedCheckpoint(checkpointId, await LoadAsync(checkpointId, cancellationToken)));
        }
        catch (CheckpointCorruptException e)
        {
            return ServiceResult<VerifiedCheckpoint>.Conflict(await DamagedAsync(checkpointId, e));
        }
    }

    private async Task<string> DamagedAsync(int checkpointId, CheckpointCorruptException e)
    {
        if (e is CheckpointUnreadableException)
        {
            return $"Checkpoint {checkpointId} cannot be read now and was left as it is: {e.Message}";
        }

        var status = await queries.StatusOfAsync(checkpointId, CancellationToken.None) ?? CheckpointStatus.Corrupt;
        return $"Checkpoint {checkpointId} failed verification and is now marked {status}: {e.Message}";
    }
}
