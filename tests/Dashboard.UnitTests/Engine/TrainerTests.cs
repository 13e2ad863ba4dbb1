using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Training;
using Dashboard.Engine.Training.Optimizers;
using Dashboard.UnitTests.Support;
using Dashboard.Engine.Policies;

namespace Dashboard.UnitTests.Engine;

public sealed class TrainerTests
{
    private const int Epochs = 4;

    [Fact]
    public async Task RunAsync_MlpOnMnistSubset_LowersValidationLoss()
    {
        var (outcome, run) = await TestEngine.TrainAsync(TestEngine.MnistSubset(epochs: Epochs));

        Assert.Equal(TrainingOutcome.Completed, outcome);
        Assert.Equal(new RunStartInfo("cpu", 1620, 180, 51, 1, (784 * 128) + 128 + (128 * 64) + 64 + (64 * 10) + 10), run.Started);
        Assert.Equal([1, 2, 3, 4], run.Epochs.Select(e => e.Epoch));
        Assert.True(
            run.Epochs[^1].ValLoss < run.Epochs[0].ValLoss,
            $"Validation loss went from {run.Epochs[0].ValLoss} to {run.Epochs[^1].ValLoss}.");
        Assert.Equal(ExpectedEpochEndKinds(run.Epochs, Epochs), run.Checkpoints.Select(c => c.Kind));
    }

    [Fact]
    public async Task RunAsync_EveryBatch_ReportsOneStepWhoseLossesMakeTheEpochLoss()
    {
        var config = TestEngine.MnistSubset(epochs: 2);

        var (_, run) = await TestEngine.TrainAsync(config);

        var batches = run.Started!.BatchesPerEpoch;
        Assert.Equal(Enumerable.Range(1, 2 * batches).Select(i => (long)i), run.Steps.Select(s => s.Step));
        Assert.All(run.Steps, s => Assert.Equal(s.Step <= batches ? 1 : 2, s.Epoch));
        foreach (var epoch in run.Epochs)
        {
            // The epoch's loss is the sample-weighted mean of its batches' losses; the last batch may be smaller.
            var steps = run.Steps.Where(s => s.Epoch == epoch.Epoch).ToList();
            var sizes = steps.Select((_, i) => Math.Min(config.BatchSize, run.Started.TrainSamples - (i * config.BatchSize))).ToList();
            var lossSum = steps.Zip(sizes).Aggregate(0.0, (sum, pair) => sum + (pair.First.Loss * (double)pair.Second));
            Assert.Equal(epoch.Loss, lossSum / sizes.Sum());
            Assert.Equal(epoch.Step, steps[^1].Step);
            Assert.All(steps, s => Assert.Equal(epoch.LearningRate, s.LearningRate));
        }
    }

    [Fact]
    public async Task RunAsync_LossBecomesNaN_FailsWithDivergedAndWritesNoCheckpoint()
    {
        // SGD with momentum at the largest allowed rate blows up within the first epoch on MNIST.
        var config = TestEngine.MnistSubset(epochs: 2) with { Optimizer = OptimizerNames.Sgd, LearningRate = TrainingConfigValidator.MaxLearningRate };
        var observer = new RecordingObserver();

        var error = await Assert.ThrowsAsync<TrainingDivergedException>(() => TestEngine.TrainAsync(config, observer));

        Assert.Contains("lower learning rate", error.Message);
        Assert.Empty(observer.Checkpoints);
    }

    [Fact]
    public async Task RunAsync_SameSeedTwice_GivesIdenticalMetricsAndWeights()
    {
        var (_, first) = await TestEngine.TrainAsync(TestEngine.MnistSubset(seed: 7, epochs: 3));
        var (_, second) = await TestEngine.TrainAsync(TestEngine.MnistSubset(seed: 7, epochs: 3));

        Assert.Equal(Curve(first), Curve(second));
        Assert.Equal(first.LastCheckpoint.Weights, second.LastCheckpoint.Weights);
        Assert.Equal(first.LastCheckpoint.OptimizerState, second.LastCheckpoint.OptimizerState);
    }

    [Fact]
    public async Task RunAsync_ObserverReleasesEachSnapshot_LaterSnapshotsReuseItsArraysWithTheirOwnBytes()
    {
        // As PersistingObserver does once the files are written: the next snapshot is copied into the same arrays, and
        // must carry exactly the bytes a run whose observer keeps every snapshot gets.
        var config = TestEngine.MnistSubset(seed: 7, epochs: 2) with { Checkpoint = new CheckpointPolicy { EverySteps = 10 } };
        var released = new List<(byte[] Array, byte[] Weights, byte[] OptimizerState)>();
        var releasing = new RecordingObserver
        {
            OnCheckpointHook = s =>
            {
                released.Add((s.Weights, s.Weights.ToArray(), s.OptimizerState.ToArray()));
                s.ReleaseBuffers();
            },
        };

        await TestEngine.TrainAsync(config, releasing);
        var (_, keeping) = await TestEngine.TrainAsync(config);

        Assert.True(keeping.Checkpoints.Count > 4, $"Only {keeping.Checkpoints.Count} checkpoints.");
        Assert.Single(released.Select(r => r.Array).Distinct());
        Assert.Equal(keeping.Checkpoints.Count, keeping.Checkpoints.Select(c => c.Weights).Distinct().Count());
        Assert.Equal(keeping.Checkpoints.Select(c => c.Weights), released.Select(r => r.Weights));
        Assert.Equal(keeping.Checkpoints.Select(c => c.OptimizerState), released.Select(r => r.OptimizerState));
    }

    [Fact]
    public async Task RunAsync_DifferentSeed_GivesDifferentCurve()
    {
        var (_, first) = await TestEngine.TrainAsync(TestEngine.MnistSubset(seed: 7, epochs: 2));
        var (_, second) = await TestEngine.TrainAsync(TestEngine.MnistSubset(seed: 8, epochs: 2));

        Assert.NotEqual(first.Epochs[0].Loss, second.Epochs[0].Loss);
        Assert.NotEqual(first.Epochs[^1].ValLoss, second.Epochs[^1].ValLoss);
        Assert.NotEqual(first.LastCheckpoint.Weights, second.LastCheckpoint.Weights);
    }

    [Fact]
    public async Task RunAsync_CancelledAfterFirstEpoch_OffersInterruptAtStartOfSecond()
    {
        using var stop = new CancellationTokenSource();
        var observer = new RecordingObserver { OnEpochHook = m => CancelAt(stop, m.Epoch == 1) };

        var (outcome, run) = await TestEngine.TrainAsync(TestEngine.MnistSubset(epochs: Epochs), observer, stopToken: stop.Token);

        Assert.Equal(TrainingOutcome.Cancelled, outcome);
        Assert.Single(run.Epochs);
        Assert.Equal([.. ExpectedEpochEndKinds(run.Epochs, Epochs), CheckpointKind.Interrupt], run.Checkpoints.Select(c => c.Kind));
        var interrupt = run.LastCheckpoint;
        Assert.Equal(new TrainingPosition(1, 51, 0, 0, 0, 0, 0), interrupt.Position with { EpochElapsedMs = 0 });
        Assert.Equal(["learningRate"], interrupt.Metrics.Keys);
    }

    [Fact]
    public async Task RunAsync_CancelledFromProgress_OffersInterruptAtThatBatch()
    {
        var config = SlowEpochs(epochs: 1);
        using var stop = new CancellationTokenSource();
        BatchProgress? cancelledAt = null;
        var observer = new RecordingObserver
        {
            OnProgressHook = p =>
            {
                if (cancelledAt is null && p.Batch < p.BatchCount)
                {
                    cancelledAt = p;
                    stop.Cancel();
                }
            },
        };

        var (outcome, run) = await TestEngine.TrainAsync(config, observer, stopToken: stop.Token);

        Assert.Equal(TrainingOutcome.Cancelled, outcome);
        Assert.NotNull(cancelledAt);
        Assert.Empty(run.Epochs);
        var interrupt = Assert.Single(run.Checkpoints);
        Assert.Equal(CheckpointKind.Interrupt, interrupt.Kind);
        var position = interrupt.Position;
        Assert.Equal(0, position.CompletedEpochs);
        Assert.Equal(cancelledAt.Batch, position.BatchInEpoch);
        Assert.Equal(cancelledAt.Batch, position.GlobalStep);
        Assert.Equal((long)cancelledAt.Batch * config.BatchSize, position.EpochSamples);
        Assert.InRange(position.EpochCorrect, 1, position.EpochSamples);
        Assert.True(position.EpochElapsedMs >= cancelledAt.EpochElapsedMs);
        Assert.Equal(position.EpochLossSum / position.EpochSamples, interrupt.Metrics["loss"]);
        Assert.Equal((double)position.EpochCorrect / position.EpochSamples, interrupt.Metrics["accuracy"]);
    }

    [Theory]
    [InlineData("mlp", OptimizerNames.Adam)]
    [InlineData("mlp", OptimizerNames.Sgd)]
    [InlineData("mlp", OptimizerNames.AdamW)]
    [InlineData("cnn", OptimizerNames.Adam)]
    public async Task RunAsync_ResumedFromEpochBoundaryInterrupt_MatchesUninterruptedRunExactly(string model, string optimizer)
    {
        // The CNN costs far more per sample; a smaller subset keeps its three runs quick.
        var config = TestEngine.MnistSubset(epochs: Epochs) with { Model = model, Optimizer = optimizer, SampleLimit = model == "cnn" ? 600 : 2000 };
        var (_, straight) = await TestEngine.TrainAsync(config);

        using var stop = new CancellationTokenSource();
        var stopping = new RecordingObserver { OnEpochHook = m => CancelAt(stop, m.Epoch == 2) };
        var (stoppedOutcome, stopped) = await TestEngine.TrainAsync(config, stopping, stopToken: stop.Token);
        Assert.Equal(TrainingOutcome.Cancelled, stoppedOutcome);
        var expected = new TrainingPosition(2, 2 * stopped.Started!.BatchesPerEpoch, 0, 0, 0, 0, 0);
        Assert.Equal(expected, stopped.LastCheckpoint.Position with { EpochElapsedMs = 0 });

        var resumed = await ResumeThroughStoreAsync(config, stopped.LastCheckpoint);

        Assert.Equal(3, resumed.Started?.StartEpoch);
        Assert.Equal(Curve(straight)[2..], Curve(resumed));
        Assert.Equal(straight.LastCheckpoint.Weights, resumed.LastCheckpoint.Weights);
        Assert.Equal(straight.LastCheckpoint.OptimizerState, resumed.LastCheckpoint.OptimizerState);
    }

    [Fact]
    public async Task RunAsync_ResumedFromMidEpochInterrupt_MatchesUninterruptedRunExactly()
    {
        var config = SlowEpochs(epochs: Epochs);
        var (_, straight) = await TestEngine.TrainAsync(config);

        // Progress is throttled to 250 ms, so the first report of an epoch lands mid-epoch only if the epoch is slower than
        // that; any epoch from the third on will do.
        using var stop = new CancellationTokenSource();
        var stopping = new RecordingObserver { OnProgressHook = p => CancelAt(stop, p.Epoch >= 3 && p.Batch < p.BatchCount) };
        var (stoppedOutcome, stopped) = await TestEngine.TrainAsync(config, stopping, stopToken: stop.Token);
        Assert.True(
            stoppedOutcome == TrainingOutcome.Cancelled,
            "No progress report arrived mid-epoch: epochs ran faster than the 250 ms throttle; raise SlowEpochs' work.");
        var interrupt = stopped.LastCheckpoint;
        Assert.Equal(CheckpointKind.Interrupt, interrupt.Kind);
        Assert.InRange(interrupt.Position.BatchInEpoch, 1, stopped.Started!.BatchesPerEpoch - 1);

        var resumed = await ResumeThroughStoreAsync(config, interrupt);

        var resumedFrom = interrupt.Position.CompletedEpochs;
        Assert.Equal(resumedFrom + 1, resumed.Started?.StartEpoch);

        // Steps after the checkpoint are reported again, by the resumed run alone, and bitwise as the first time.
        Assert.Equal(interrupt.Position.GlobalStep, resumed.Started?.StartStep);
        Assert.Equal(straight.Steps.Where(s => s.Step > interrupt.Position.GlobalStep), resumed.Steps);
        Assert.Equal(straight.Steps.Where(s => s.Step <= interrupt.Position.GlobalStep), stopped.Steps.Where(s => s.Step <= interrupt.Position.GlobalStep));
        Assert.Equal(Curve(straight)[resumedFrom..], Curve(resumed));
        Assert.Equal(straight.LastCheckpoint.Weights, resumed.LastCheckpoint.Weights);
        Assert.Equal(straight.LastCheckpoint.OptimizerState, resumed.LastCheckpoint.OptimizerState);
    }

    /// <summary>
    /// Every MNIST digit in batches of 8: about a thousand small steps, which keeps an epoch well above the progress
    /// throttle while the whole four-epoch run stays within a few seconds.
    /// </summary>
    private static TrainingConfig SlowEpochs(int epochs) => TestEngine.MnistSubset(epochs: epochs) with { SampleLimit = null, BatchSize = 8 };

    private static void CancelAt(CancellationTokenSource stop, bool condition)
    {
        if (condition && !stop.IsCancellationRequested)
        {
            stop.Cancel();
        }
    }

    /// <summary>What a run measured, without the wall-clock fields that legitimately differ between runs.</summary>
    private static (int Epoch, long Step, double Loss, double ValLoss, double? Accuracy, double? ValAccuracy, double LearningRate)[] Curve(RecordingObserver run) =>
        [.. run.Epochs.Select(e => (e.Epoch, e.Step, e.Loss, e.ValLoss, e.Accuracy, e.ValAccuracy, e.LearningRate))];

    /// <summary>Takes the interrupt through a real store, as the dashboard does, so resuming also proves the files round-trip.</summary>
    private static async Task<RecordingObserver> ResumeThroughStoreAsync(TrainingConfig config, CheckpointSnapshot interrupt)
    {
        using var folder = new TempDirectory();
        var store = new CheckpointStore(folder.Path);
        var written = store.Write("run-1", "interrupt", interrupt);
        var loaded = store.Read(written.RelativePath, written.Sha256);

        var (outcome, resumed) = await TestEngine.TrainAsync(config, resumeFrom: loaded);

        Assert.Equal(TrainingOutcome.Completed, outcome);
        return resumed;
    }

    /// <summary>
    /// The default policy's kinds: "best" when valLoss beat every earlier epoch, "last" at the final epoch, else "periodic".
    /// </summary>
    private static IEnumerable<string> ExpectedEpochEndKinds(IReadOnlyList<EpochMetrics> epochs, int finalEpoch)
    {
        var best = double.PositiveInfinity;
        foreach (var epoch in epochs)
        {
            var improved = epoch.ValLoss < best;
            best = Math.Min(best, epoch.ValLoss);
            yield return epoch.Epoch == finalEpoch ? CheckpointKind.Last : improved ? CheckpointKind.Best : CheckpointKind.Periodic;
        }
    }
}
