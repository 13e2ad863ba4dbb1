using System.Globalization;
using System.Text.Json;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Models;
using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Execution;
using Dashboard.Runs.Logging;
using Dashboard.Runs.Management;
using Dashboard.Runs.Options;
using Dashboard.Runs.Weights;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Runs.Launching;

/// <summary>
/// The one place runs are created and queued: new runs, resumes (continuing a run or branching from it), fine-tunes and
/// imports. Each checks its request, stores the row, announces it (<see cref="RunStatusChangedEvent"/>) and, when it is
/// to train, hands it to the job runner, in that order.
/// </summary>
public sealed class RunLauncher(
    IDbContextFactory<DashboardDbContext> dbFactory,
    CheckpointMaintenance maintenance,
    CheckpointLoader loader,
    TrainingConfigValidator validator,
    FineTunePlanner fineTunes,
    WeightsLibrary weights,
    IRunDispatcher dispatcher,
    TrainingEventBroadcaster broadcaster,
    RunLog runLog,
    ModelRegistry models)
{
    /// <summary>A new run from scratch (<c>POST /api/runs</c> and the New-run page), queued at once.</summary>
    public async Task<ServiceResult<RunDto>> CreateAsync(CreateRunRequest request, CancellationToken cancellationToken = default)
    {
        var config = request.ToConfig();
        var errors = validator.Validate(config).ToDictionary();
        foreach (var (field, message) in request.HyperparameterKindErrors())
        {
            errors[field] = [message];
        }

        var name = request.Name?.Trim();
        if (name is { Length: > RunService.MaxNameLength })
        {
            errors["name"] = [$"The name may have at most {RunService.MaxNameLength} characters."];
        }

        if (request.ClassFilter is not null)
        {
            errors["classFilter"] = ["A class filter is a fine-tune setting: POST /api/checkpoints/{id}/finetune with datasetFilter."];
        }

        if (request.FineTune is not null)
        {
            errors["fineTune"] = ["Fine-tunes start from a checkpoint: POST /api/checkpoints/{id}/finetune."];
        }

        if (request.InitialWeights is { } initial)
        {
            config = config with { InitialWeights = weights.Plan(config, initial, errors) };
        }

        var queueName = request.Queue ?? RunQueueName.Default;
        if (RunQueueName.Problem(queueName) is { } problem)
        {
            errors["queue"] = [problem];
        }

        if (errors.Count > 0)
        {
            return ServiceResult<RunDto>.Invalid(errors);
        }

        config = validator.WithDefaults(config);
        var now = DateTime.UtcNow;
        var run = new Run
        {
            Name = string.IsNullOrEmpty(name) ? $"{config.Model}-{config.Dataset}-{now:yyyyMMdd-HHmmss}" : name,
            Status = RunStatus.Queued,
            Dataset = config.Dataset,
            Model = config.Model,
            Epochs = config.Epochs,
            ConfigJson = RunConfigCodec.Write(config),
            Queue = queueName,
            CreatedAt = now,
        };
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            await InsertAsync(db, run, cancellationToken);
        }

        Announce(run);
        return new ServiceResult<RunDto>(RunDto.From(run), Status: 201);
    }

    /// <summary>
    /// Resumes from a checkpoint: the newest checkpoint of a run that is not training continues that run; any other
    /// starts a branch, a new run whose parent is the checkpoint. Nothing of the original is overwritten.
    /// </summary>
    public async Task<ServiceResult<RunStartedDto>> ResumeAsync(int checkpointId, ResumeRequest request, CancellationToken cancellationToken = default)
    {
        return await maintenance.UnderMutationLockAsync<ServiceResult<RunStartedDto>>(async () =>
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            var checkpoint = await db.Checkpoints.SingleOrDefaultAsync(c => c.Id == checkpointId, cancellationToken);
            if (checkpoint is null)
            {
                return ServiceResult<RunStartedDto>.NotFound($"There is no checkpoint {checkpointId}.");
            }

            if (checkpoint.Status != CheckpointStatus.Durable)
            {
                return ServiceResult<RunStartedDto>.Conflict($"Checkpoint {checkpointId} is {checkpoint.Status}; only durable checkpoints can be resumed.");
            }

            var verified = await loader.VerifyAsync(checkpointId, cancellationToken);
            if (verified.Value is not { } start)
            {
                return ServiceResult<RunStartedDto>.Conflict(verified.Problem!);
            }

            if (PluginBuildCheck.Problem(start.Loaded.Manifest.ModelSpec, models, start.Loaded.Weights) is { } pluginProblem)
            {
                return ServiceResult<RunStartedDto>.Conflict(pluginProblem);
            }

            var run = await db.Runs.SingleAsync(r => r.Id == checkpoint.RunId, cancellationToken);
            var config = RunConfigCodec.ReadOrDefault(run.ConfigJson);
            var epochs = request.Epochs ?? Math.Max(run.Epochs, checkpoint.Epoch + 1);
            if (epochs <= checkpoint.Epoch || epochs > TrainingConfigValidator.MaxEpochs)
            {
                return ServiceResult<RunStartedDto>.Invalid(new Dictionary<string, string[]>
                {
                    ["epochs"] = [$"The target must be above the checkpoint's epoch {checkpoint.Epoch} and at most {TrainingConfigValidator.MaxEpochs:N0}."],
                });
            }

            config = config with { Epochs = epochs };
            if (await CheckpointQueries.NewestDurableIdAsync(db, run.Id, cancellationToken) == checkpoint.Id)
            {
                if (RunStatus.IsActive(run.Status))
                {
                    return ServiceResult<RunStartedDto>.Conflict($"Run {run.Id} is {run.Status}; it is already training from this checkpoint.");
                }

                run.Status = RunStatus.Queued;
                run.StartCheckpointId = checkpoint.Id;
                run.Epochs = epochs;
                run.ConfigJson = RunConfigCodec.Write(config);
                run.Error = null;
                run.FinishedAt = null;
                await db.SaveChangesAsync(cancellationToken);
                Announce(run, start);
                return new(new RunStartedDto(run.Id), Status: 202);
            }

            // One click, one branch: a second request while the first branch still waits or trains is a double click (with a
            // free slot the first branch is running before the second click lands). Fine-tunes are other children.
            var active = await db.Runs
                .Where(r => r.ParentCheckpointId == checkpoint.Id && (r.Status == RunStatus.Queued || r.Status == RunStatus.Running))
                .Select(r => new { r.Id, r.Status, r.ConfigJson })
                .ToListAsync(cancellationToken);
            if (active.FirstOrDefault(r => RunConfigCodec.Read(r.ConfigJson)?.FineTune is null) is { } twin)
            {
                return ServiceResult<RunStartedDto>.Conflict($"Checkpoint {checkpointId} is already being resumed as run {twin.Id} ({twin.Status}); stop it or wait for it to end.");
            }

            var branch = new Run
            {
                Name = $"{run.Name} ↳ epoch {checkpoint.Epoch}",
                Status = RunStatus.Queued,
                Dataset = run.Dataset,
                Model = run.Model,
                Epochs = epochs,
                CurrentEpoch = checkpoint.Epoch,
                ConfigJson = RunConfigCodec.Write(config),
                ModelSpecJson = run.ModelSpecJson,
                ParentRunId = run.Id,
                ParentCheckpointId = checkpoint.Id,
                StartCheckpointId = checkpoint.Id,
                Queue = run.Queue,
                CreatedAt = DateTime.UtcNow,
            };
            return await QueueAsync(db, branch, start, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>
    /// Starts a child run from a checkpoint's weights with other data, learning rate, optimizer, schedule or frozen layers.
    /// </summary>
    public async Task<ServiceResult<RunStartedDto>> FineTuneAsync(int checkpointId, FineTuneRequest request, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var checkpoint = await db.Checkpoints.AsNoTracking().SingleOrDefaultAsync(c => c.Id == checkpointId, cancellationToken);
        if (checkpoint is null)
        {
            return ServiceResult<RunStartedDto>.NotFound($"There is no checkpoint {checkpointId}.");
        }

        if (checkpoint.Status != CheckpointStatus.Durable)
        {
            return ServiceResult<RunStartedDto>.Conflict($"Checkpoint {checkpointId} is {checkpoint.Status}; only durable checkpoints can be fine-tuned.");
        }

        var parent = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == checkpoint.RunId, cancellationToken);
        var plan = fineTunes.Plan(parent, checkpoint, request);
        if (plan.Value is not { } child)
        {
            return ServiceResult<RunStartedDto>.Invalid(plan.Errors!);
        }

        // A child trains where its parent did: the queue says what kind of worker the model needs.
        child.Queue = parent.Queue;

        return await maintenance.UnderMutationLockAsync<ServiceResult<RunStartedDto>>(async () =>
        {
            // Checked again under the lock: the checkpoint may have been deleted while the request was validated.
            if (!await db.Checkpoints.AnyAsync(c => c.Id == checkpointId && c.Status == CheckpointStatus.Durable, cancellationToken))
            {
                return ServiceResult<RunStartedDto>.Conflict($"Checkpoint {checkpointId} was removed meanwhile.");
            }

            var verified = await loader.VerifyAsync(checkpointId, cancellationToken);
            if (verified.Value is not { } start)
            {
                return ServiceResult<RunStartedDto>.Conflict(verified.Problem!);
            }

            return PluginBuildCheck.Problem(start.Loaded.Manifest.ModelSpec, models, start.Loaded.Weights) is { } pluginProblem
                ? ServiceResult<RunStartedDto>.Conflict(pluginProblem)
                : await QueueAsync(db, child, start, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>
    /// At start-up, before the job runner takes anything: hands every queued run back to the queue, after turning the
    /// interrupted ones into queued ones when <paramref name="resumeInterrupted"/>. Interrupted means the process went away
    /// (a crash, kill, preemption or shutdown), never a user's stop; each continues from its newest durable checkpoint,
    /// recorded now so that checkpoint is kept until the run has a newer one. Returns how many interrupted runs resume.
    /// </summary>
    public async Task<int> RequeueAfterRestartAsync(bool resumeInterrupted, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var resumed = 0;
        if (resumeInterrupted)
        {
            foreach (var run in await db.Runs.Where(r => r.Status == RunStatus.Interrupted).ToListAsync(cancellationToken))
            {
                await RequeueInterruptedAsync(db, run, "Interrupted when the dashboard last stopped", cancellationToken);
                resumed++;
            }

            await db.SaveChangesAsync(cancellationToken);
        }

        foreach (var run in await db.Runs.Where(r => r.Status == RunStatus.Queued).OrderBy(r => r.Id).Select(r => new { r.Id, r.Queue }).ToListAsync(cancellationToken))
        {
            dispatcher.Dispatch(run.Id, run.Queue);
        }

        return resumed;
    }

    /// <summary>
    /// A worker shutting down hands its interrupted run back at once: queued again from its newest durable checkpoint (the
    /// interrupt checkpoint it just wrote), exactly as auto-resume does after a restart, so another worker continues it
    /// without waiting for the failover time. False when the run is no longer interrupted (stopped, or taken meanwhile).
    /// </summary>
    public async Task<bool> HandBackAsync(int runId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (await db.Runs.SingleOrDefaultAsync(r => r.Id == runId && r.Status == RunStatus.Interrupted, cancellationToken) is not { } run)
        {
            return false;
        }

        await RequeueInterruptedAsync(db, run, "Interrupted as its worker shut down", cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        broadcaster.Publish(new RunStatusChangedEvent(run.Id, run.Status));
        dispatcher.Dispatch(run.Id, run.Queue);
        return true;
    }

    /// <summary>Interrupted → queued, to continue from its newest durable checkpoint, recorded so that one is kept meanwhile.</summary>
    private async Task RequeueInterruptedAsync(DashboardDbContext db, Run run, string why, CancellationToken cancellationToken)
    {
        run.Status = RunStatus.Queued;
        run.FinishedAt = null;
        run.StartCheckpointId = await CheckpointQueries.NewestDurableIdAsync(db, run.Id, cancellationToken) ?? run.StartCheckpointId;
        runLog.Info(run.Id, $"{why}; queued again to resume from checkpoint #{run.StartCheckpointId?.ToString(CultureInfo.InvariantCulture) ?? "(none: from scratch)"}.");
    }

    /// <summary>
    /// The create step of an import: the bundle's run is stored as completed, never queued and not yet announced. The
    /// caller writes its checkpoint, then calls <see cref="Announce"/>; if that fails it deletes the row again, so nobody
    /// has heard of a run that never had its checkpoint.
    /// </summary>
    public async Task<Run> CreateImportedAsync(TrainingConfig config, ModelSpec spec, string dataset, string fileName)
    {
        var name = Path.GetFileNameWithoutExtension(fileName);
        var run = new Run
        {
            Name = $"imported {(name.Length > 150 ? name[..150] : name)}",
            Status = RunStatus.Completed,
            Dataset = dataset,
            Model = spec.Architecture,
            Epochs = 0,
            ConfigJson = RunConfigCodec.Write(config with { Epochs = Math.Max(1, config.Epochs) }),
            ModelSpecJson = JsonSerializer.Serialize(spec, JsonDefaults.Options),
            CreatedAt = DateTime.UtcNow,
            FinishedAt = DateTime.UtcNow,
        };

        // Once the store is touched the import finishes or undoes itself whatever the client does: no token.
        await using var db = await dbFactory.CreateDbContextAsync(CancellationToken.None);
        await InsertAsync(db, run, CancellationToken.None);
        return run;
    }

    /// <summary>
    /// Tells the hub and the pages about a stored run and, when it is queued, hands it to the job runner with the start
    /// checkpoint already read and verified, if any, so the executor need not read its files again.
    /// </summary>
    public void Announce(Run run, VerifiedCheckpoint? start = null)
    {
        broadcaster.Publish(new RunStatusChangedEvent(run.Id, run.Status));
        runLog.Info(run.Id, AnnouncedMessage(run, start));
        if (run.Status == RunStatus.Queued)
        {
            dispatcher.Dispatch(run.Id, run.Queue, start);
        }
    }

    /// <summary>The run log's first line for a run: how it came to be, and where it will start from.</summary>
    private static string AnnouncedMessage(Run run, VerifiedCheckpoint? start)
    {
        if (run.Status != RunStatus.Queued)
        {
            return $"Created as {run.Status} ({run.Name}).";
        }

        if (start is null)
        {
            return "Queued to train from scratch.";
        }

        var at = $"checkpoint #{start.CheckpointId} (epoch {start.Loaded.Manifest.Position.CompletedEpochs}, step {start.Loaded.Manifest.Position.GlobalStep})";
        return run.ParentCheckpointId != start.CheckpointId ? $"Queued to resume from {at}."
            : RunConfigCodec.Read(run.ConfigJson)?.FineTune is not null ? $"Queued to fine-tune from {at} of run #{run.ParentRunId}."
            : $"Queued as a branch from {at} of run #{run.ParentRunId}.";
    }

    /// <summary>Stores a new child run as queued, announces it, and hands it to the job runner with its verified start.</summary>
    private async Task<ServiceResult<RunStartedDto>> QueueAsync(DashboardDbContext db, Run run, VerifiedCheckpoint start, CancellationToken cancellationToken)
    {
        await InsertAsync(db, run, cancellationToken);
        Announce(run, start);
        return new(new RunStartedDto(run.Id), Status: 202);
    }

    /// <summary>The one insert of a new run row; every kind of run is created through here.</summary>
    private static async Task InsertAsync(DashboardDbContext db, Run run, CancellationToken cancellationToken)
    {
        db.Runs.Add(run);
        await db.SaveChangesAsync(cancellationToken);
    }
}
