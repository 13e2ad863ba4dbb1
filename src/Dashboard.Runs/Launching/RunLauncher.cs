using System.Text.Json;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Execution;
using Dashboard.Runs.Management;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Runs.Launching;

/// <summary>Starts runs from checkpoints: resume (continue or branch) and fine-tune.</summary>
public sealed class RunLauncher(
    IDbContextFactory<DashboardDbContext> dbFactory,
    CheckpointMaintenance maintenance,
    CheckpointLoader loader,
    TrainingConfigValidator validator,
    DatasetRegistry datasets,
    ModelRegistry models,
    RunQueue queue,
    TrainingEventBroadcaster broadcaster)
{
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

            var run = await db.Runs.SingleAsync(r => r.Id == checkpoint.RunId, cancellationToken);
            var config = JsonSerializer.Deserialize<TrainingConfig>(run.ConfigJson, JsonDefaults.Options) ?? new TrainingConfig();
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
                run.ConfigJson = JsonSerializer.Serialize(config, JsonDefaults.Options);
                run.Error = null;
                run.FinishedAt = null;
                await db.SaveChangesAsync(cancellationToken);
                broadcaster.Publish(new RunStatusChangedEvent(run.Id, run.Status));
                queue.Enqueue(run.Id, start);
                return new(new RunStartedDto(run.Id), Status: 202);
            }

            // One click, one branch: a second request while the first branch still waits or trains is a double click (with a
            // free slot the first branch is running before the second click lands). Fine-tunes are other children.
            var active = await db.Runs
                .Where(r => r.ParentCheckpointId == checkpoint.Id && (r.Status == RunStatus.Queued || r.Status == RunStatus.Running))
                .Select(r => new { r.Id, r.Status, r.ConfigJson })
                .ToListAsync(cancellationToken);
            if (active.FirstOrDefault(r => JsonSerializer.Deserialize<TrainingConfig>(r.ConfigJson, JsonDefaults.Options)?.FineTune is null) is { } twin)
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
                ConfigJson = JsonSerializer.Serialize(config, JsonDefaults.Options),
                ModelSpecJson = run.ModelSpecJson,
                ParentRunId = run.Id,
                ParentCheckpointId = checkpoint.Id,
                StartCheckpointId = checkpoint.Id,
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
        var parentConfig = JsonSerializer.Deserialize<TrainingConfig>(parent.ConfigJson, JsonDefaults.Options) ?? new TrainingConfig();
        var errors = new Dictionary<string, string[]>();
        if (request.Epochs is null)
        {
            errors["epochs"] = ["Say how many epochs to fine-tune for."];
        }

        if (request.Name?.Trim() is { Length: > RunService.MaxNameLength })
        {
            errors["name"] = [$"The name may have at most {RunService.MaxNameLength} characters."];
        }

        var config = parentConfig with
        {
            Epochs = request.Epochs ?? 1,
            LearningRate = request.LearningRate ?? parentConfig.LearningRate,
            Optimizer = request.Optimizer?.Trim().ToLowerInvariant() ?? parentConfig.Optimizer,
            Dataset = request.Dataset?.Trim().ToLowerInvariant() ?? parentConfig.Dataset,

            // A sample limit was chosen for the parent's dataset; on another dataset it would be a guess.
            SampleLimit = request.Dataset is null ? parentConfig.SampleLimit : null,
            BatchSize = request.BatchSize ?? parentConfig.BatchSize,
            ClassFilter = request.DatasetFilter ?? parentConfig.ClassFilter,
            Schedule = request.Schedule ?? parentConfig.Schedule,
            EarlyStopping = request.EarlyStopping ?? parentConfig.EarlyStopping,
            FineTune = new FineTuneSettings { ResetOptimizer = request.ResetOptimizer ?? false, Freeze = request.Freeze ?? [] },
        };
        foreach (var (field, messages) in validator.Validate(config))
        {
            errors[field] = messages;
        }

        if (datasets.TryGet(parentConfig.Dataset, out var parentData) && models.TryGet(parentConfig.Model, out var architecture))
        {
            var spec = architecture.DefaultSpec(parentData.Info);
            if (!errors.ContainsKey("dataset") && datasets.TryGet(config.Dataset, out var newData)
                && (!newData.Info.SampleShape.SequenceEqual(spec.InputShape) || newData.Info.ClassCount != spec.ClassCount))
            {
                errors["dataset"] = [$"'{config.Dataset}' has samples [{string.Join(", ", newData.Info.SampleShape)}] in {newData.Info.ClassCount} classes; the model takes [{string.Join(", ", spec.InputShape)}] in {spec.ClassCount}."];
            }

            if (config.ClassFilter is { } classes && (classes.Count == 0 || classes.Any(c => c < 0 || c >= spec.ClassCount) || classes.Distinct().Count() != classes.Count))
            {
                errors["datasetFilter"] = [$"List distinct class labels between 0 and {spec.ClassCount - 1}."];
            }

            if (config.FineTune.Freeze.Count > 0)
            {
                var names = ParameterNames(spec);
                var unknown = config.FineTune.Freeze.Where(f => !names.Any(n => n == f || n.StartsWith(f + ".", StringComparison.Ordinal))).ToList();
                if (unknown.Count > 0)
                {
                    errors["freeze"] = [$"No parameter is called {string.Join(", ", unknown.Select(u => $"'{u}'"))}. The model has: {string.Join(", ", names)}."];
                }
                else if (names.All(n => config.FineTune.Freeze.Any(f => n == f || n.StartsWith(f + ".", StringComparison.Ordinal))))
                {
                    errors["freeze"] = ["Freezing every parameter leaves nothing to train."];
                }
            }
        }

        if (errors.Count > 0)
        {
            return ServiceResult<RunStartedDto>.Invalid(errors);
        }

        var child = new Run
        {
            Name = string.IsNullOrWhiteSpace(request.Name) ? $"{parent.Name} · fine-tune from epoch {checkpoint.Epoch}" : request.Name.Trim(),
            Status = RunStatus.Queued,
            Dataset = config.Dataset,
            Model = config.Model,
            Epochs = config.Epochs,
            ConfigJson = JsonSerializer.Serialize(config, JsonDefaults.Options),
            ParentRunId = parent.Id,
            ParentCheckpointId = checkpoint.Id,
            StartCheckpointId = checkpoint.Id,
            CreatedAt = DateTime.UtcNow,
        };
        return await maintenance.UnderMutationLockAsync<ServiceResult<RunStartedDto>>(async () =>
        {
            // Checked again under the lock: the checkpoint may have been deleted while the request was validated.
            if (!await db.Checkpoints.AnyAsync(c => c.Id == checkpointId && c.Status == CheckpointStatus.Durable, cancellationToken))
            {
                return ServiceResult<RunStartedDto>.Conflict($"Checkpoint {checkpointId} was removed meanwhile.");
            }

            var verified = await loader.VerifyAsync(checkpointId, cancellationToken);
            return verified.Value is { } start
                ? await QueueAsync(db, child, start, cancellationToken)
                : ServiceResult<RunStartedDto>.Conflict(verified.Problem!);
        }, cancellationToken);
    }

    /// <summary>Stores a new child run as queued, announces it, and hands it to the job runner with its verified start.</summary>
    private async Task<ServiceResult<RunStartedDto>> QueueAsync(DashboardDbContext db, Run run, VerifiedCheckpoint start, CancellationToken cancellationToken)
    {
        db.Runs.Add(run);
        await db.SaveChangesAsync(cancellationToken);
        broadcaster.Publish(new RunStatusChangedEvent(run.Id, run.Status));
        queue.Enqueue(run.Id, start);
        return new(new RunStartedDto(run.Id), Status: 202);
    }

    /// <summary>The parameter names of a model, as freezing and exports name them.</summary>
    public IReadOnlyList<string> ParameterNames(ModelSpec spec)
    {
        using var model = models.Build(spec);
        return [.. model.named_parameters().Select(p => p.name)];
    }
}
