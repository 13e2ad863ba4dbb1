using System.Text.Json;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Training;
using Dashboard.Web.Options;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Dashboard.Web.Services;

/// <summary>Trains one queued run to its end: status changes, the engine call, and what its outcome means.</summary>
public sealed class RunExecutor(
    IDbContextFactory<DashboardDbContext> dbFactory,
    Trainer trainer,
    CheckpointStore store,
    CheckpointService checkpoints,
    RunQueue queue,
    TrainingEventBroadcaster broadcaster,
    IOptions<TrainingOptions> options,
    ILogger<RunExecutor> logger)
{
    public async Task ExecuteAsync(int runId, CancellationToken hostStopping)
    {
        Run? run;
        await using (var db = await dbFactory.CreateDbContextAsync(CancellationToken.None))
        {
            run = await db.Runs.AsNoTracking().SingleOrDefaultAsync(r => r.Id == runId, CancellationToken.None);
        }

        // Stopped while it waited, or queued twice (a restart re-queues what a resume already queued).
        if (run is null || run.Status != RunStatus.Queued || queue.IsActive(runId))
        {
            return;
        }

        using var active = queue.Activate(runId);
        PersistingObserver? observer = null;
        try
        {
            var config = JsonSerializer.Deserialize<TrainingConfig>(run.ConfigJson, JsonDefaults.Options)
                ?? throw new InvalidOperationException($"Run {runId} has no configuration.");
            var device = DeviceSelector.Resolve(options.Value.Device);
            var threads = TorchThreading.EnsureConfigured(options.Value.TorchThreads, options.Value.MaxConcurrentRuns);
            var (resumeFrom, initFrom, resumeFromId) = await FindStartAsync(run, config);
            if (!await ClaimAsync(runId, device, resumeFromId))
            {
                return; // stopped between being dequeued and now
            }

            logger.LogInformation("Run {RunId} trains on {Device} with {Threads} torch thread(s) per operation.", runId, device, threads);
            observer = new PersistingObserver(new RunContext(runId, config, run.ParentRunId, run.ParentCheckpointId), dbFactory, store, checkpoints, broadcaster);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(active.StopRequested, hostStopping, observer.WriteFailed);
            var outcome = await Task.Run(
                () => trainer.RunAsync(new TrainingRequest(config, device, resumeFrom, active, initFrom), observer, linked.Token),
                CancellationToken.None);
            await observer.DrainAsync();

            var status = outcome switch
            {
                TrainingOutcome.Completed or TrainingOutcome.EarlyStopped => RunStatus.Completed,
                _ when active.StopRequested.IsCancellationRequested => RunStatus.Stopped,
                _ => RunStatus.Interrupted,
            };
            await SetStatusAsync(runId, status, error: null);
        }
        catch (CheckpointStorageFullException e)
        {
            // Not the run's fault, and not worth retrying by itself: it pauses with what it had saved, and resumes from
            // its newest durable checkpoint once someone has made room. Stopped, not interrupted, so a restart does not
            // resume it into the same full disk.
            logger.LogWarning("Run {RunId} stopped: {Message}", runId, e.Message);
            await SettleAsync(observer);
            await SetStatusAsync(runId, RunStatus.Stopped, e.Message);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Run {RunId} failed.", runId);
            await SettleAsync(observer);
            await SetStatusAsync(runId, RunStatus.Failed, e.Message);
        }
        finally
        {
            observer?.Dispose();
            queue.Deactivate(runId);
        }
    }

    /// <summary>Lets a write in flight settle, so its row is durable, corrupt or missing and never left writing.</summary>
    private static async Task SettleAsync(PersistingObserver? observer)
    {
        if (observer is not null)
        {
            await observer.DrainAsync().ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// A run that already has durable checkpoints continues exactly from its newest. A fresh branch continues exactly from
    /// its parent checkpoint; a fresh fine-tune starts from the parent's weights. Anything else starts from scratch.
    /// </summary>
    private async Task<(LoadedCheckpoint? ResumeFrom, LoadedCheckpoint? InitFrom, int? ResumeFromId)> FindStartAsync(Run run, TrainingConfig config)
    {
        await using var db = await dbFactory.CreateDbContextAsync();
        var own = await db.Checkpoints
            .Where(c => c.RunId == run.Id && c.Status == CheckpointStatus.Durable)
            .OrderByDescending(c => c.Step).ThenByDescending(c => c.Id)
            .Select(c => (int?)c.Id)
            .FirstOrDefaultAsync();
        if (own is { } ownId)
        {
            return (await checkpoints.LoadAsync(ownId), null, ownId);
        }

        if (run.ParentCheckpointId is not { } parentId)
        {
            return (null, null, null);
        }

        var parent = await checkpoints.LoadAsync(parentId);
        return config.FineTune is null ? (parent, null, parentId) : (null, parent, null);
    }

    /// <summary>
    /// Queued → running, only if it is still queued: a stop that got there first wins. Records what the start continues
    /// from, so a resume that retrained from scratch would show.
    /// </summary>
    private async Task<bool> ClaimAsync(int runId, string device, int? resumeFromId)
    {
        await using var db = await dbFactory.CreateDbContextAsync();
        var now = DateTime.UtcNow;
        var claimed = await db.Runs
            .Where(r => r.Id == runId && r.Status == RunStatus.Queued)
            .ExecuteUpdateAsync(u => u
                .SetProperty(r => r.Status, RunStatus.Running)
                .SetProperty(r => r.Device, device)
                .SetProperty(r => r.ResumedFromCheckpointId, resumeFromId)
                .SetProperty(r => r.Error, (string?)null)
                .SetProperty(r => r.FinishedAt, (DateTime?)null)
                .SetProperty(r => r.StartedAt, r => r.StartedAt ?? now));
        if (claimed == 1)
        {
            broadcaster.Publish(new RunStatusChangedEvent(runId, RunStatus.Running));
        }

        return claimed == 1;
    }

    /// <summary>Records how a run ended.</summary>
    private async Task SetStatusAsync(int runId, string status, string? error)
    {
        await using var db = await dbFactory.CreateDbContextAsync();
        var run = await db.Runs.SingleAsync(r => r.Id == runId);
        run.Status = status;
        run.Error = error;
        run.FinishedAt = DateTime.UtcNow;
        await db.SaveChangesAsync();
        broadcaster.Publish(new RunStatusChangedEvent(runId, status));
    }
}
