using System.Text.Json;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using Dashboard.Engine.Policies;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Execution;
using Dashboard.Runs.Management;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Runs.Checkpoints;

/// <summary>
/// Checkpoint rows and files together: lookups, pinning, deletion, retention and resuming. Everything that removes files
/// or starts jobs from a checkpoint goes through one lock, so a file is never deleted while a job is being queued on it.
/// </summary>
public sealed class CheckpointService(
    IDbContextFactory<DashboardDbContext> dbFactory,
    CheckpointStore store,
    TrainingConfigValidator validator,
    DatasetRegistry datasets,
    ModelRegistry models,
    RunQueue queue,
    TrainingEventBroadcaster broadcaster,
    CheckpointVolume volume,
    ILogger<CheckpointService> logger)
{
    private readonly SemaphoreSlim _mutations = new(1, 1);

    public static string RunFolder(int runId) => $"run-{runId:D6}";

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

    public async Task<CheckpointDto?> GetAsync(int checkpointId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var row = await db.Checkpoints.AsNoTracking().SingleOrDefaultAsync(c => c.Id == checkpointId, cancellationToken);
        return row is null ? null : CheckpointDto.From(row);
    }

    /// <summary>The newest durable checkpoint of a run; NotFound when the run or such a checkpoint does not exist.</summary>
    public async Task<ServiceResult<CheckpointDto>> LatestAsync(int runId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await db.Runs.AnyAsync(r => r.Id == runId, cancellationToken))
        {
            return ServiceResult<CheckpointDto>.NotFound($"There is no run {runId}.");
        }

        var row = await Durable(db, runId).OrderByDescending(c => c.Step).ThenByDescending(c => c.Id).FirstOrDefaultAsync(cancellationToken);
        return row is null ? ServiceResult<CheckpointDto>.NotFound($"Run {runId} has no durable checkpoint.") : new(CheckpointDto.From(row));
    }

    /// <summary>The durable checkpoint with the best value of <paramref name="monitor"/> (min or max).</summary>
    public async Task<ServiceResult<CheckpointDto>> BestAsync(int runId, string monitor, string mode, CancellationToken cancellationToken = default)
    {
        var errors = new Dictionary<string, string[]>();
        if (!MonitorMode.LoggedMetrics.Contains(monitor))
        {
            errors["monitor"] = [$"'{monitor}' is not a logged metric. Use one of: {string.Join(", ", MonitorMode.LoggedMetrics)}."];
        }

        if (!MonitorMode.All.Contains(mode))
        {
            errors["mode"] = [$"The mode must be one of: {string.Join(", ", MonitorMode.All)}."];
        }

        if (errors.Count > 0)
        {
            return ServiceResult<CheckpointDto>.Invalid(errors);
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await db.Runs.AnyAsync(r => r.Id == runId, cancellationToken))
        {
            return ServiceResult<CheckpointDto>.NotFound($"There is no run {runId}.");
        }

        var resolved = MonitorMode.Resolve(mode, monitor);
        var best = (await Durable(db, runId).ToListAsync(cancellationToken))
            .Select(CheckpointDto.From)
            .Where(c => c.Metrics.TryGetValue(monitor, out var v) && !double.IsNaN(v))
            .OrderBy(c => c.Metrics[monitor], Comparer<double>.Create((a, b) => MonitorMode.Compare(a, b, resolved)))
            .ThenByDescending(c => c.Step)
            .FirstOrDefault();
        return best is null ? ServiceResult<CheckpointDto>.NotFound($"Run {runId} has no durable checkpoint with {monitor}.") : new(best);
    }

    /// <summary>
    /// Pins or unpins a checkpoint. Under the mutation lock, like deletion and retention: a pin read between their check
    /// and their removal would otherwise leave a checkpoint both pinned and deleted.
    /// </summary>
    public async Task<ServiceResult<CheckpointDto>> SetPinnedAsync(int checkpointId, bool pinned, CancellationToken cancellationToken = default)
    {
        await _mutations.WaitAsync(cancellationToken);
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            var row = await db.Checkpoints.SingleOrDefaultAsync(c => c.Id == checkpointId, cancellationToken);
            if (row is null)
            {
                return ServiceResult<CheckpointDto>.NotFound($"There is no checkpoint {checkpointId}.");
            }

            // Its files are gone for good; a pin would promise to keep what no longer exists. Unpinning is always allowed.
            if (pinned && row.Status == CheckpointStatus.Deleted)
            {
                return ServiceResult<CheckpointDto>.Conflict($"Checkpoint {checkpointId} is deleted; there is nothing left to pin.");
            }

            row.Pinned = pinned;
            await db.SaveChangesAsync(cancellationToken);
            return new(CheckpointDto.From(row), Status: 204);
        }
        finally
        {
            _mutations.Release();
        }
    }

    /// <summary>Removes a checkpoint's files and keeps its row as <c>deleted</c>; refused while a job needs it.</summary>
    public async Task<ServiceResult<CheckpointDto>> DeleteAsync(int checkpointId, CancellationToken cancellationToken = default)
    {
        await _mutations.WaitAsync(cancellationToken);
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            var row = await db.Checkpoints.SingleOrDefaultAsync(c => c.Id == checkpointId, cancellationToken);
            if (row is null)
            {
                return ServiceResult<CheckpointDto>.NotFound($"There is no checkpoint {checkpointId}.");
            }

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

            if ((await InUseAsync(db, cancellationToken)).Contains(checkpointId))
            {
                return ServiceResult<CheckpointDto>.Conflict($"Checkpoint {checkpointId} is the starting point of a queued or running run.");
            }

            await RemoveAsync(db, row, cancellationToken);
            return new(CheckpointDto.From(row), Status: 204);
        }
        finally
        {
            _mutations.Release();
        }
    }

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
            var rows = await Durable(db, runId).ToListAsync(cancellationToken);
            var inUse = await InUseAsync(db, cancellationToken);
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
            }
        }
        finally
        {
            _mutations.Release();
        }
    }

    /// <summary>
    /// Resumes from a checkpoint: the newest checkpoint of a run that is not training continues that run; any other
    /// starts a branch, a new run whose parent is the checkpoint. Nothing of the original is overwritten.
    /// </summary>
    public async Task<ServiceResult<RunStartedDto>> ResumeAsync(int checkpointId, ResumeRequest request, CancellationToken cancellationToken = default)
    {
        await _mutations.WaitAsync(cancellationToken);
        try
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

            if (await VerifyAsync(checkpointId, cancellationToken) is { } damaged)
            {
                return ServiceResult<RunStartedDto>.Conflict(damaged);
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
            var newest = await Durable(db, run.Id).OrderByDescending(c => c.Step).ThenByDescending(c => c.Id).FirstAsync(cancellationToken);
            if (newest.Id == checkpoint.Id)
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
                queue.Enqueue(run.Id);
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
            return await QueueAsync(db, branch, cancellationToken);
        }
        finally
        {
            _mutations.Release();
        }
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
        await _mutations.WaitAsync(cancellationToken);
        try
        {
            // Checked again under the lock: the checkpoint may have been deleted while the request was validated.
            if (!await db.Checkpoints.AnyAsync(c => c.Id == checkpointId && c.Status == CheckpointStatus.Durable, cancellationToken))
            {
                return ServiceResult<RunStartedDto>.Conflict($"Checkpoint {checkpointId} was removed meanwhile.");
            }

            if (await VerifyAsync(checkpointId, cancellationToken) is { } damaged)
            {
                return ServiceResult<RunStartedDto>.Conflict(damaged);
            }

            return await QueueAsync(db, child, cancellationToken);
        }
        finally
        {
            _mutations.Release();
        }
    }

    /// <summary>Stores a new child run as queued, announces it, and hands it to the job runner.</summary>
    private async Task<ServiceResult<RunStartedDto>> QueueAsync(DashboardDbContext db, Run run, CancellationToken cancellationToken)
    {
        db.Runs.Add(run);
        await db.SaveChangesAsync(cancellationToken);
        broadcaster.Publish(new RunStatusChangedEvent(run.Id, run.Status));
        queue.Enqueue(run.Id);
        return new(new RunStartedDto(run.Id), Status: 202);
    }

    /// <summary>The parameter names of a model, as freezing and exports name them.</summary>
    public IReadOnlyList<string> ParameterNames(ModelSpec spec)
    {
        using var model = models.Build(spec);
        return [.. model.named_parameters().Select(p => p.name)];
    }

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
        if (await GetAsync(checkpointId, cancellationToken) is not { } checkpoint)
        {
            return ServiceResult<LoadedCheckpoint>.NotFound($"There is no checkpoint {checkpointId}.");
        }

        if (checkpoint.Status != CheckpointStatus.Durable)
        {
            return ServiceResult<LoadedCheckpoint>.Conflict($"Checkpoint {checkpointId} is {checkpoint.Status}; only durable checkpoints can be used.");
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
                CreatedAt = loaded.Manifest.CreatedAtUtc,
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
                await LoadAsync(id, cancellationToken);
            }
            catch (CheckpointUnreadableException)
            {
                // Not read, so not known to be bad; it keeps its status and is read again at the next audit.
            }
            catch (CheckpointCorruptException)
            {
                // One deleted while the audit read it is gone on purpose, not damaged.
                if (await StatusOfAsync(id, cancellationToken) != CheckpointStatus.Deleted)
                {
                    bad++;
                }
            }
        }

        return bad;
    }

    /// <summary>
    /// Verifies a checkpoint's files before a job is queued on it, so a damaged one is refused now rather than failing the
    /// run later; null when it is sound.
    /// </summary>
    private async Task<string?> VerifyAsync(int checkpointId, CancellationToken cancellationToken)
    {
        try
        {
            await LoadAsync(checkpointId, cancellationToken);
            return null;
        }
        catch (CheckpointCorruptException e)
        {
            return await DamagedAsync(checkpointId, e);
        }
    }

    private async Task<string> DamagedAsync(int checkpointId, CheckpointCorruptException e)
    {
        if (e is CheckpointUnreadableException)
        {
            return $"Checkpoint {checkpointId} cannot be read now and was left as it is: {e.Message}";
        }

        var status = (await GetAsync(checkpointId, CancellationToken.None))?.Status ?? CheckpointStatus.Corrupt;
        return $"Checkpoint {checkpointId} failed verification and is now marked {status}: {e.Message}";
    }

    private async Task<string?> StatusOfAsync(int checkpointId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Checkpoints.Where(c => c.Id == checkpointId).Select(c => c.Status).SingleOrDefaultAsync(cancellationToken);
    }

    private static IQueryable<Checkpoint> Durable(DashboardDbContext db, int runId) =>
        db.Checkpoints.Where(c => c.RunId == runId && c.Status == CheckpointStatus.Durable);

    /// <summary>
    /// Checkpoints a queued or running run starts from: a branch's parent, and the start recorded when a run was queued
    /// (a resume of its own newest, an auto-resume after a crash) until the run has a newer durable checkpoint of its own.
    /// Without the second, the newest checkpoint of a run waiting to continue itself could go, and the run would start
    /// from an older one or from scratch.
    /// </summary>
    private static async Task<HashSet<int>> InUseAsync(DashboardDbContext db, CancellationToken cancellationToken)
    {
        var starts = await db.Runs
            .Where(r => r.Status == RunStatus.Queued || r.Status == RunStatus.Running)
            .Select(r => new
            {
                r.ParentCheckpointId,
                r.StartCheckpointId,
                Superseded = db.Checkpoints.Any(c => c.RunId == r.Id && c.Id > r.StartCheckpointId && c.Status == CheckpointStatus.Durable),
            })
            .ToListAsync(cancellationToken);
        return
        [
            .. starts.Where(s => s.ParentCheckpointId is not null).Select(s => s.ParentCheckpointId!.Value),
            .. starts.Where(s => s.StartCheckpointId is not null && !s.Superseded).Select(s => s.StartCheckpointId!.Value),
        ];
    }

    private async Task RemoveAsync(DashboardDbContext db, Checkpoint row, CancellationToken cancellationToken)
    {
        if (row.Path.Length > 0)
        {
            store.Delete(row.Path);
        }

        row.Status = CheckpointStatus.Deleted;
        await db.SaveChangesAsync(cancellationToken);
        broadcaster.Publish(new CheckpointRemovedEvent(row.RunId, CheckpointDto.From(row)));
    }
}
