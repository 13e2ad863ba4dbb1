using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Export;
using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Execution;
using Dashboard.Runs.Launching;
using Dashboard.Runs.Options;
using Dashboard.Runs.Plugins;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Dashboard.Runs;

/// <summary>
/// Runs before anything else serves: creates the data folders, applies migrations, and settles what a crash left behind.
/// Hosted services start in registration order, so the job runner never sees an unmigrated database.
/// </summary>
public sealed class StartupService(
    IDbContextFactory<DashboardDbContext> dbFactory,
    CheckpointStore store,
    UploadSpool uploads,
    RunLauncher launcher,
    CheckpointVolume volume,
    InterruptedDeletions deletions,
    IRunDispatcher dispatcher,
    IOptions<StorageOptions> storage,
    IOptions<TrainingOptions> training,
    PluginCatalog plugins,
    ILogger<StartupService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // The launcher's validator holds the model registry, so the plugins are loaded by now; a broken one is reported
        // here, on the Plugins page and in /healthz, and the server starts without it.
        foreach (var problem in plugins.Problems)
        {
            logger.LogError("Plugin {Plugin} ({Folder}): {Message}", problem.Plugin, problem.Folder, problem.Message);
        }

        Directory.CreateDirectory(storage.Value.DataDirectoryPath);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await DatabaseSetup.MigrateAsync(db, cancellationToken);

        // With a job engine shared by several processes, this one's start says nothing about the others: a running run may
        // train on a live worker, a checkpoint may be writing there. The engine hands a dead worker's job to another, whose
        // lease take-over settles what it left (RunLease); queued runs are already the engine's jobs. A renamed folder may
        // be another process's deletion in progress and an upload file another instance's upload: LeftoverSweep clears
        // those once they are old enough.
        if (dispatcher.Distributed)
        {
            return;
        }

        // A run still marked running was on a thread of a process that is gone.
        var interrupted = await db.Runs
            .Where(r => r.Status == RunStatus.Running)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, RunStatus.Interrupted).SetProperty(r => r.FinishedAt, DateTime.UtcNow), cancellationToken);
        if (interrupted > 0)
        {
            logger.LogWarning("{Count} run(s) were running when the dashboard last stopped; marked interrupted.", interrupted);
        }

        // An unmounted, moved or unreadable checkpoint folder is not every checkpoint gone at once: nothing is marked, the
        // health check says why, and POST /api/checkpoints/audit looks again once it is back.
        var unusable = await volume.AssessAsync(cancellationToken);
        if (unusable is null)
        {
            await deletions.SettleAllAsync(cancellationToken);

            // A checkpoint still marked writing never reached its rename.
            foreach (var checkpoint in await db.Checkpoints.Where(c => c.Status == CheckpointStatus.Writing).ToListAsync(cancellationToken))
            {
                checkpoint.Status = checkpoint.Path.Length > 0 && store.Exists(checkpoint.Path) ? CheckpointStatus.Corrupt : CheckpointStatus.Missing;
            }

            await db.SaveChangesAsync(cancellationToken);

            // A durable checkpoint whose folder is gone cannot be offered any more; one that cannot be looked at keeps its status.
            var (missing, unreadable) = await volume.MarkAbsentAsync(cancellationToken);
            if (missing > 0)
            {
                logger.LogWarning("{Count} checkpoint(s) have no files any more; marked missing.", missing);
            }

            if (unreadable > 0)
            {
                logger.LogWarning("{Count} checkpoint folder(s) could not be looked at; left as they were.", unreadable);
            }

            RemoveTornFolders();
        }
        else
        {
            logger.LogError("{Problem}", unusable);
        }

        RemoveStaleUploads();

        // Resuming now would only fail each run on a checkpoint that is away; they stay interrupted until it is back.
        var resumed = await launcher.RequeueAfterRestartAsync(resumeInterrupted: training.Value.AutoResume && unusable is null, cancellationToken);
        if (resumed > 0)
        {
            logger.LogInformation("Resuming {Count} interrupted run(s) from their newest durable checkpoints.", resumed);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void RemoveTornFolders()
    {
        foreach (var folder in Directory.EnumerateDirectories(store.Root, $"*{CheckpointStore.TemporaryMarker}*", SearchOption.AllDirectories))
        {
            logger.LogWarning("Removing {Folder}: a checkpoint write that never finished.", folder);
            Directory.Delete(folder, recursive: true);
        }
    }

    // Nothing is uploading yet, so every file in the spool belongs to a process that is gone.
    private void RemoveStaleUploads()
    {
        var removed = uploads.RemoveStale();
        if (removed.Count > 0)
        {
            logger.LogWarning("Removed {Count} upload(s) left in {Folder} by an earlier process.", removed.Count, uploads.Folder);
        }
    }
}
