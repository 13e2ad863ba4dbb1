namespace Dashboard.Runs.Checkpoints;

/// <summary>
/// Shortly after start-up, re-reads every durable checkpoint against its hashes (bit rot, a file edited by hand) and
/// reports folders no row knows. Done in the background so a large store never delays the dashboard coming up.
/// </summary>
public sealed class CheckpointAuditService(CheckpointMaintenance checkpoints, CheckpointVolume volume, ILogger<CheckpointAuditService> logger) : BackgroundService
{
    public static readonly TimeSpan StartDelay = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(StartDelay, stoppingToken);
            if (volume.Problem is { } unusable)
            {
                // Reading checkpoints from a folder that is away proves nothing about them; a re-audit runs once it is back.
                logger.LogWarning("Checkpoint audit held: {Problem}", unusable);
                return;
            }

            var corrupt = await checkpoints.AuditAsync(stoppingToken);
            if (corrupt > 0)
            {
                logger.LogWarning("{Count} checkpoint(s) failed verification and are now marked corrupt or missing.", corrupt);
            }

            var orphans = await checkpoints.OrphansAsync(stoppingToken);
            if (orphans.Count > 0)
            {
                logger.LogWarning(
                    "{Count} checkpoint folder(s) have no database row; see GET /api/checkpoints/orphans to adopt them. Nothing was deleted.",
                    orphans.Count);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down before the audit finished; it runs again at the next start.
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The folder went away between the volume check and the walk. An exception leaving a background service stops
            // the whole host, and the audit is a courtesy: report it, keep serving, and let /healthz and a re-audit tell the rest.
            logger.LogError(e, "Checkpoint audit stopped: the checkpoint folder could not be read. POST /api/checkpoints/audit once it is back.");
        }
    }
}
