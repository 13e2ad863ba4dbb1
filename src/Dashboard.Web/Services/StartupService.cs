using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Web.Options;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Dashboard.Web.Services;

/// <summary>
/// Runs before anything else serves: creates the data folders, applies migrations, and settles what a crash left behind.
/// Hosted services start in registration order, so the job runner never sees an unmigrated database.
/// </summary>
public sealed class StartupService(
    IDbContextFactory<DashboardDbContext> dbFactory,
    CheckpointStore store,
    RunQueue queue,
    IOptions<StorageOptions> storage,
    ILogger<StartupService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(storage.Value.DataDirectoryPath);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await SqliteSetup.MigrateAsync(db, cancellationToken);

        // A run still marked running was on a thread of a process that is gone.
        var interrupted = await db.Runs
            .Where(r => r.Status == RunStatus.Running)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, RunStatus.Interrupted).SetProperty(r => r.FinishedAt, DateTime.UtcNow), cancellationToken);
        if (interrupted > 0)
        {
            logger.LogWarning("{Count} run(s) were running when the dashboard last stopped; marked interrupted.", interrupted);
        }

        // A checkpoint still marked writing never reached its rename.
        foreach (var checkpoint in await db.Checkpoints.Where(c => c.Status == CheckpointStatus.Writing).ToListAsync(cancellationToken))
        {
            checkpoint.Status = checkpoint.Path.Length > 0 && store.Exists(checkpoint.Path) ? CheckpointStatus.Corrupt : CheckpointStatus.Missing;
        }

        await db.SaveChangesAsync(cancellationToken);
        RemoveTornFolders();

        foreach (var runId in await db.Runs.Where(r => r.Status == RunStatus.Queued).OrderBy(r => r.Id).Select(r => r.Id).ToListAsync(cancellationToken))
        {
            queue.Enqueue(runId);
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
}
