using Dashboard.Engine.Export;
using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Execution;
using Dashboard.Runs.Options;
using Dashboard.Runs.Resilience;
using Microsoft.Extensions.Options;

namespace Dashboard.Runs.Management;

/// <summary>
/// Where several processes share the data folder (the job engine on PostgreSQL), start-up cannot clear what a killed
/// process left: a folder renamed away may be another process's deletion in progress, an upload file another instance's
/// upload. So every process looks every <see cref="StorageOptions.LeftoverSeconds"/> and settles the deletions at least
/// that old (<see cref="InterruptedDeletions.SettleOlderThanAsync"/>) and removes the upload files unwritten for that long.
/// Alone on the folder, start-up clears everything and this does nothing.
/// </summary>
public sealed class LeftoverSweep(
    InterruptedDeletions deletions,
    UploadSpool uploads,
    IRunDispatcher dispatcher,
    IOptions<StorageOptions> storage,
    ILogger<LeftoverSweep> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!dispatcher.Distributed)
        {
            return;
        }

        var age = TimeSpan.FromSeconds(storage.Value.LeftoverSeconds);
        using var timer = new PeriodicTimer(age);
        try
        {
            do
            {
                await SweepAsync(age, stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private async Task SweepAsync(TimeSpan age, CancellationToken stoppingToken)
    {
        try
        {
            // Only folders found renamed away are touched and no row is marked missing, so a checkpoint folder that is away
            // (unmounted, moved) costs nothing here: there is nothing to list, or listing fails and is tried again.
            await deletions.SettleOlderThanAsync(age, stoppingToken);

            var removed = uploads.RemoveStale(unwrittenFor: age);
            if (removed.Count > 0)
            {
                logger.LogWarning("Removed {Count} upload(s) left in {Folder} by a process that is gone.", removed.Count, uploads.Folder);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException || DatabaseErrors.IsTransient(e))
        {
            // An exception leaving a background service stops the host; the next look tries again.
            logger.LogWarning(e, "Looking for what killed processes left failed; trying again in {Seconds} s.", age.TotalSeconds);
        }
    }
}
