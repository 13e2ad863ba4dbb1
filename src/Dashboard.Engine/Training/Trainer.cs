using System.Diagnostics;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using Dashboard.Engine.Policies;
using Dashboard.Engine.Training.Optimizers;
using Dashboard.Plugins;
using TorchSharp;
using static TorchSharp.torch;

namespace Dashboard.Engine.Training;

/// <summary>
/// The training loop: epochs of shuffled mini-batches, validation after each epoch, the schedule, early stopping and the
/// checkpoint policy. Metrics and checkpoint snapshots go out through an <see cref="ITrainingObserver"/>; the loop knows
/// nothing of storage or the web.
/// </summary>
public sealed class Trainer(DatasetRegistry datasets, ModelRegistry models)
{
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(250);

    public async Task<TrainingOutcome> RunAsync(TrainingRequest request, ITrainingObserver observer, CancellationToken stopToken)
    {
        var config = request.Config;
        var policy = config.Checkpoint;
        var device = torch.device(request.Device);
        var source = datasets.Get(config.Dataset);
        var continued = request.ResumeFrom;
        var startFrom = continued ?? request.InitFrom;
        var spec = startFrom?.Manifest.ModelSpec ?? DefaultSpec(config, source.Info);

        using var splits = DatasetSplitter.Split(source.Load(), config.ValidationSplit, config.SampleLimit, device, config.ClassFilter);
        using var model = BuildModel(spec, config.Seed, startFrom, device, request.InitialWeights);
        var frozen = Freeze(model, config.FineTune?.Freeze ?? config.InitialWeights?.Freeze ?? []);
        using var optimizer = OptimizerFactory.Create(config.Optimizer, model.parameters().Where(p => p.requires_grad), config.LearningRate);

        // A fine-tune starts its own epoch count from the parent's weights; only an exact resume continues the parent's
        // position, schedule and stopping state.
        var position = continued?.Manifest.Position ?? new TrainingPosition(0, 0, 0, 0, 0, 0, 0);
        var optimizerFrom = continued ?? (request.InitFrom is { } init && CarriesOptimizer(config, init, frozen) ? init : null);
        if (optimizerFrom is not null)
        {
            using var reader = new BinaryReader(new MemoryStream(optimizerFrom.OptimizerState));
            optimizer.LoadState(reader);
        }

        // The run's snapshots are copied into arrays the observer hands back once written (see SnapshotBuffers); the first
        // set is mapped now, so no checkpoint of the run pays for fresh memory beside a training batch.
        var buffers = new SnapshotBuffers();
        buffers.Warm(SnapshotCapture.WeightsSize(model), optimizer.StateSize);

        var scheduler = new LearningRateScheduler(config.Schedule, config.LearningRate, config.Epochs, continued?.Manifest.State.Schedule);
        var earlyStopping = config.EarlyStopping is { } es ? new EarlyStopping(es, continued?.Manifest.State.EarlyStopping) : null;
        var monitorBest = continued?.Manifest.State.MonitorBest;
        var bestWeights = config.EarlyStopping is { RestoreBestWeights: true } ? continued?.BestWeights : null;
        optimizer.LearningRate = scheduler.LearningRate;
        TrainerState State() => new(monitorBest, scheduler.State, earlyStopping?.State);

        CheckpointSnapshot Snap(string kind, TrainingPosition at, IReadOnlyDictionary<string, double> metrics) =>
            SnapshotCapture.Copy(kind, at, metrics, config, spec, model, optimizer, State(), bestWeights, buffers);
        SnapshotCapture BeginSnap(string kind, TrainingPosition at, IReadOnlyDictionary<string, double> metrics)
        {
            var state = State();
            var kept = bestWeights;
            return new SnapshotCapture(TorchThread.Run("checkpoint copy", () => SnapshotCapture.Copy(kind, at, metrics, config, spec, model, optimizer, state, kept, buffers)));
        }

        // A periodic or epoch-end snapshot is copied while the next batch runs its forward and backward passes, which
        // only read the weights (and buffers, but see forwardWritesBuffers); the next optimizer step waits for the copy, and
        // the checkpoint is handed on after it.
        SnapshotCapture? capture = null;
        async ValueTask HandOnCaptureAsync()
        {
            if (capture is { } pending)
            {
                capture = null;
                await observer.OnCheckpointAsync(pending.Finish(), CancellationToken.None);
            }
        }

        var trainCount = splits.Train.Count;
        var regression = TrainingObjective.IsRegression(splits.Train.Labels);
        var batchCount = (trainCount + config.BatchSize - 1) / config.BatchSize;
        var parameterCount = model.parameters().Sum(p => p.numel());

        // Batch normalisation updates its running statistics (buffers) in the forward pass of a training step, so for a
        // model with buffers the copy must be finished before the next forward, not only before the next optimizer step.
        var forwardWritesBuffers = model.buffers().Any();
        await observer.OnStartedAsync(
            new RunStartInfo(request.Device, trainCount, splits.Validation.Count, batchCount, position.CompletedEpochs + 1, parameterCount, position.GlobalStep),
            CancellationToken.None);

        var sinceCheckpoint = Stopwatch.StartNew();
        try
        {
            for (var epoch = position.CompletedEpochs + 1; epoch <= config.Epochs; epoch++)
            {
                var resumeInEpoch = position.BatchInEpoch > 0;
                var lossSum = resumeInEpoch ? position.EpochLossSum : 0;
                var correct = resumeInEpoch ? position.EpochCorrect : 0;
                var absErrors = resumeInEpoch ? position.EpochAbsErrorSum : 0;
                var seen = resumeInEpoch ? position.EpochSamples : 0;
                var priorMs = resumeInEpoch ? position.EpochElapsedMs : 0;
                var step = position.GlobalStep;
                var clock = Stopwatch.StartNew();
                var lastProgress = TimeSpan.Zero;
                string? pendingKind = null;
                TrainingPosition Here(int nextBatch) => new(epoch - 1, step, nextBatch, lossSum, correct, seen, priorMs + clock.Elapsed.TotalMilliseconds, absErrors);
                Dictionary<string, double> Partial() => PartialMetrics(lossSum, regression ? absErrors : correct, seen, regression, optimizer);

                // The schedule moves the learning rate between epochs only, so one read serves every step of the epoch.
                var learningRate = optimizer.LearningRate;

                model.train();
                using var order = EpochOrder(config.Seed, epoch, trainCount, device);
                for (var batch = resumeInEpoch ? position.BatchInEpoch : 0; batch < batchCount; batch++)
                {
                    if (stopToken.IsCancellationRequested)
                    {
                        await HandOnCaptureAsync();
                        await observer.OnCheckpointAsync(Snap(CheckpointKind.Interrupt, Here(batch), Partial()), CancellationToken.None);
                        return TrainingOutcome.Cancelled;
                    }

                    var start = batch * config.BatchSize;
                    var size = Math.Min(config.BatchSize, trainCount - start);
                    CheckpointSnapshot? readyCapture = null;
                    float batchLoss;
                    using (NewDisposeScope())
                    {
                        var indices = order.narrow(0, start, size);
                        var inputs = splits.Train.Features.index_select(0, indices);
                        var targets = splits.Train.Labels.index_select(0, indices);
                        optimizer.ZeroGrad();
                        if (forwardWritesBuffers)
                        {
                            readyCapture = capture?.Finish();
                            capture = null;
                        }

                        var logits = model.forward(inputs);
                        var loss = TrainingObjective.Loss(logits, targets);
                        loss.backward();
                        readyCapture ??= capture?.Finish();
                        capture = null;
                        optimizer.Step();
                        batchLoss = loss.item<float>();
                        if (!float.IsFinite(batchLoss))
                        {
                            // Keras' TerminateOnNaN: nothing useful can follow, and NaN weights must not be checkpointed.
                            throw new TrainingDivergedException(
                                $"Training diverged: the loss became {batchLoss} at epoch {epoch}, batch {batch + 1}. Try a lower learning rate.");
                        }

                        lossSum += batchLoss * (double)size;
                        if (regression)
                        {
                            absErrors += TrainingObjective.Score(logits, targets);
                        }
                        else
                        {
                            correct += (long)TrainingObjective.Score(logits, targets);
                        }
                    }

                    if (readyCapture is not null)
                    {
                        await observer.OnCheckpointAsync(readyCapture, CancellationToken.None);
                    }

                    seen += size;
                    step++;
                    observer.OnStep(new StepMetrics(step, epoch, batchLoss, learningRate));
                    if (request.Control?.TakeCheckpointRequest() == true)
                    {
                        pendingKind = CheckpointKind.Manual;
                    }
                    else if ((policy.EverySteps is > 0 and var everySteps && step % everySteps == 0)
                        || (policy.EveryMinutes is > 0 and var everyMinutes && sinceCheckpoint.Elapsed.TotalMinutes >= everyMinutes))
                    {
                        pendingKind ??= CheckpointKind.Periodic;
                    }

                    // A request on the last batch is served by the epoch-end checkpoint right after it.
                    if (pendingKind is not null && batch + 1 < batchCount)
                    {
                        capture = BeginSnap(pendingKind, Here(batch + 1), Partial());
                        pendingKind = null;
                        sinceCheckpoint.Restart();
                    }

                    // The first batch of an epoch (also of a resumed one) reports at once, so a start shows progress right away.
                    if (lastProgress == TimeSpan.Zero || clock.Elapsed - lastProgress >= ProgressInterval || batch == batchCount - 1)
                    {
                        lastProgress = clock.Elapsed;
                        observer.OnProgress(new BatchProgress(epoch, batch + 1, batchCount, seen / ((priorMs / 1000) + clock.Elapsed.TotalSeconds), priorMs + clock.Elapsed.TotalMilliseconds));
                    }
                }

                var (valLoss, valScore) = TrainingObjective.Evaluate(model, splits.Validation);
                var durationMs = priorMs + clock.Elapsed.TotalMilliseconds;
                var metrics = new EpochMetrics(
                    epoch,
                    step,
                    lossSum / seen,
                    valLoss,
                    regression ? null : (double)correct / seen,
                    regression ? null : valScore,
                    optimizer.LearningRate,
                    durationMs,
                    seen / (durationMs / 1000),
                    regression ? absErrors / seen : null,
                    regression ? valScore : null);
                await observer.OnEpochCompletedAsync(metrics, CancellationToken.None);

                var logged = metrics.ToDictionary();
                var improved = logged.TryGetValue(policy.Monitor, out var monitored)
                    && MonitorMode.IsImprovement(monitored, monitorBest, policy.ResolvedMode, policy.MinDelta);
                if (improved)
                {
                    monitorBest = monitored;
                }

                var (stoppingImproved, stopEarly) = earlyStopping?.Update(epoch, logged) ?? (false, false);
                if (stoppingImproved && earlyStopping!.Config.RestoreBestWeights)
                {
                    bestWeights = SerializeWeights(model);
                }

                optimizer.LearningRate = scheduler.Step(epoch, logged);
                var last = epoch == config.Epochs || stopEarly;
                if (stopEarly && bestWeights is not null)
                {
                    using var reader = new BinaryReader(new MemoryStream(bestWeights));
                    model.load(reader);
                }

                position = new TrainingPosition(epoch, step, 0, 0, 0, 0, 0);
                var periodic = policy.EveryEpochs is > 0 and var everyEpochs && epoch % everyEpochs == 0;
                var kind = last ? CheckpointKind.Last
                    : pendingKind == CheckpointKind.Manual ? CheckpointKind.Manual
                    : improved ? CheckpointKind.Best
                    : (periodic && !policy.SaveBestOnly) || pendingKind is not null ? CheckpointKind.Periodic
                    : null;
                if (kind is not null)
                {
                    capture = BeginSnap(kind, position, logged);
                    sinceCheckpoint.Restart();
                }

                if (stopEarly)
                {
                    await HandOnCaptureAsync();
                    return TrainingOutcome.EarlyStopped;
                }
            }

            await HandOnCaptureAsync();
            return TrainingOutcome.Completed;
        }
        finally
        {
            // On a failure the model and optimizer are disposed right after this; the copy must not be reading them.
            capture?.WaitQuietly();
        }
    }

    /// <summary>Turns off gradients for parameters matching the names or module prefixes; returns how many were frozen.</summary>
    internal static int Freeze(nn.Module<Tensor, Tensor> model, IReadOnlyList<string> names)
    {
        var frozen = 0;
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (names.Any(n => FineTuneSettings.Covers(n, name)))
            {
                parameter.requires_grad = false;
                frozen++;
            }
        }

        return frozen;
    }

    private static bool CarriesOptimizer(TrainingConfig config, LoadedCheckpoint parent, int frozen) =>
        config.FineTune is not { ResetOptimizer: true } && frozen == 0 && parent.Manifest.Config.Optimizer == config.Optimizer;

    /// <summary>Loss and accuracy (or MAE, for regression) of <paramref name="model"/> over a whole split.</summary>
    public static (double Loss, double Accuracy) Evaluate(nn.Module<Tensor, Tensor> model, DatasetSplit data) => TrainingObjective.Evaluate(model, data);

    public ModelSpec DefaultSpec(TrainingConfig config, DatasetInfo dataset) =>
        models.TryGet(config.Model, out var architecture)
            ? architecture.SpecFor(dataset, config.Hyperparameters)
            : throw new KeyNotFoundException($"Unknown model '{config.Model}'.");

    /// <summary>The shuffled sample order of one epoch: a pure function of seed and epoch, so a resumed run replays it.</summary>
    internal static Tensor EpochOrder(long seed, int epoch, int count, Device device)
    {
        var order = new long[count];
        for (var i = 0; i < count; i++)
        {
            order[i] = i;
        }

        new Random(EpochSeed(seed, epoch)).Shuffle(order);
        return tensor(order, [count], ScalarType.Int64, device);
    }

    internal static int EpochSeed(long seed, int epoch)
    {
        // SplitMix64 finaliser: neighbouring (seed, epoch) pairs get unrelated orders. HashCode is randomised per process.
        var z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)epoch);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return (int)((z ^ (z >> 31)) & int.MaxValue);
    }

    private nn.Module<Tensor, Tensor> BuildModel(ModelSpec spec, long seed, LoadedCheckpoint? resumeFrom, Device device, Action<nn.Module<Tensor, Tensor>>? initialWeights)
    {
        // Seeded and built under the generator's lock: concurrent runs and inspections never draw from this sequence.
        var model = models.Build(spec, seed);
        if (resumeFrom is null && initialWeights is not null)
        {
            // After the seeded build, so what the file lacks (a new head) starts as a run from scratch with this seed would.
            initialWeights(model);
        }

        if (resumeFrom is not null)
        {
            // Through the same lock: setting the generator while another run seeds and builds would change its init.
            GlobalGenerator.Restore(resumeFrom.TorchRngState);
            using var reader = new BinaryReader(new MemoryStream(resumeFrom.Weights));
            model.load(reader);
        }

        return model.to(device);
    }

    /// <summary>The weights in the file format <c>module.load</c> reads, in a new array of exactly their size.</summary>
    public static byte[] SerializeWeights(nn.Module<Tensor, Tensor> model) =>
        SnapshotCapture.SerializeWeights(model, length => GC.AllocateUninitializedArray<byte>(length));

    /// <summary>The same bytes, in an array <paramref name="allocate"/> gives for their exact size (every byte overwritten).</summary>
    public static byte[] SerializeWeights(nn.Module<Tensor, Tensor> model, Func<int, byte[]> allocate) =>
        SnapshotCapture.SerializeWeights(model, allocate);

    private static Dictionary<string, double> PartialMetrics(double lossSum, double scoreSum, long seen, bool regression, TrainingOptimizer optimizer)
    {
        var metrics = new Dictionary<string, double> { ["learningRate"] = optimizer.LearningRate };
        if (seen > 0)
        {
            metrics["loss"] = lossSum / seen;
            metrics[regression ? "mae" : "accuracy"] = scoreSum / seen;
        }

        return metrics;
    }
}
