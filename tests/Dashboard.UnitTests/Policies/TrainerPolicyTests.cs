using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Policies;
using Dashboard.Engine.Training;

namespace Dashboard.UnitTests.Policies;

/// <summary>The checkpoint policy, schedule and early stopping as a real training loop applies them.</summary>
public sealed class TrainerPolicyTests
{
    private const int Batches = PolicyTraining.BatchesPerEpoch;

    /// <summary>
    /// Monitoring the (constant) learning rate in max mode makes "improved" fully deterministic: epoch 1 improves on
    /// nothing, no later epoch ever does.
    /// </summary>
    private static readonly CheckpointPolicy ImprovesOnlyOnce = new() { Monitor = "learningRate", Mode = MonitorMode.Max };

    private static List<(string Kind, int Epoch)> EpochEndKinds(PolicyTestObserver observer) =>
        [.. observer.EpochEnds.Select(c => (c.Kind, c.Position.CompletedEpochs))];

    /// <summary>Epochs whose valLoss beat every earlier one (what a min-mode monitor with MinDelta 0 calls improved).</summary>
    private static List<int> ImprovingEpochs(IEnumerable<EpochMetrics> epochs)
    {
        double? best = null;
        var improving = new List<int>();
        foreach (var metrics in epochs)
        {
            if (best is null || metrics.ValLoss < best)
            {
                best = metrics.ValLoss;
                improving.Add(metrics.Epoch);
            }
        }

        return improving;
    }

    [Fact]
    public async Task RunAsync_DefaultPolicy_OneCheckpointPerEpochBestOrPeriodicThenLast()
    {
        var (outcome, observer) = await PolicyTraining.RunAsync(PolicyTraining.Config(4));

        Assert.Equal(TrainingOutcome.Completed, outcome);
        Assert.Equal(Batches, observer.Started!.BatchesPerEpoch);
        Assert.Equal(4, observer.Epochs.Count);
        Assert.Empty(observer.MidEpoch);
        var improving = ImprovingEpochs(observer.Epochs);
        List<(string, int)> expected =
        [
            .. Enumerable.Range(1, 3).Select(e => (improving.Contains(e) ? CheckpointKind.Best : CheckpointKind.Periodic, e)),
            (CheckpointKind.Last, 4),
        ];
        Assert.Equal(expected, EpochEndKinds(observer));
        Assert.All(observer.Checkpoints, c => Assert.Equal(c.Position.CompletedEpochs * (long)Batches, c.Position.GlobalStep));
        Assert.All(observer.Checkpoints, c => Assert.Equal(observer.Epochs[c.Position.CompletedEpochs - 1].ToDictionary(), c.Metrics));
    }

    [Fact]
    public async Task RunAsync_SaveBestOnlyOnValLoss_WritesImprovingEpochsAndLast()
    {
        var config = PolicyTraining.Config(5) with { Checkpoint = new CheckpointPolicy { SaveBestOnly = true } };

        var (_, observer) = await PolicyTraining.RunAsync(config);

        var expected = ImprovingEpochs(observer.Epochs).Where(e => e < 5).Select(e => (CheckpointKind.Best, e)).Append((CheckpointKind.Last, 5));
        Assert.Equal(expected, EpochEndKinds(observer));
    }

    [Fact]
    public async Task RunAsync_SaveBestOnlyWithNoLaterImprovement_WritesFirstEpochAndLastOnly()
    {
        var config = PolicyTraining.Config(4) with { Checkpoint = ImprovesOnlyOnce with { SaveBestOnly = true } };

        var (_, observer) = await PolicyTraining.RunAsync(config);

        Assert.Equal([(CheckpointKind.Best, 1), (CheckpointKind.Last, 4)], EpochEndKinds(observer));
    }

    [Fact]
    public async Task RunAsync_EveryEpochsTwo_WritesPeriodicOnEvenEpochs()
    {
        var config = PolicyTraining.Config(5) with { Checkpoint = ImprovesOnlyOnce with { EveryEpochs = 2 } };

        var (_, observer) = await PolicyTraining.RunAsync(config);

        Assert.Equal(
            [(CheckpointKind.Best, 1), (CheckpointKind.Periodic, 2), (CheckpointKind.Periodic, 4), (CheckpointKind.Last, 5)],
            EpochEndKinds(observer));
    }

    [Fact]
    public async Task RunAsync_EveryEpochsTwoWithSaveBestOnly_WritesNoPeriodic()
    {
        var config = PolicyTraining.Config(5) with { Checkpoint = ImprovesOnlyOnce with { EveryEpochs = 2, SaveBestOnly = true } };

        var (_, observer) = await PolicyTraining.RunAsync(config);

        Assert.Equal([(CheckpointKind.Best, 1), (CheckpointKind.Last, 5)], EpochEndKinds(observer));
    }

    [Fact]
    public async Task RunAsync_DecreasingRateMonitoredInMinMode_EveryEpochIsBest()
    {
        var config = PolicyTraining.Config(4) with
        {
            Checkpoint = new CheckpointPolicy { Monitor = "learningRate", Mode = MonitorMode.Min, EveryEpochs = 0 },
            Schedule = new ScheduleConfig { Type = ScheduleConfig.Step, StepEpochs = 1, Gamma = 0.5 },
        };

        var (_, observer) = await PolicyTraining.RunAsync(config);

        Assert.Equal([(CheckpointKind.Best, 1), (CheckpointKind.Best, 2), (CheckpointKind.Best, 3), (CheckpointKind.Last, 4)], EpochEndKinds(observer));
    }

    [Fact]
    public async Task RunAsync_EverySteps_WritesMidEpochSnapshotsAtStepMultiples()
    {
        var config = PolicyTraining.Config(3) with { Checkpoint = new CheckpointPolicy { EverySteps = 10, EveryEpochs = 0, SaveBestOnly = true } };

        var (_, observer) = await PolicyTraining.RunAsync(config);

        var mid = observer.MidEpoch.ToList();
        Assert.Equal([10L, 20, 30, 40, 50, 60], mid.Select(c => c.Position.GlobalStep));
        Assert.All(mid, c =>
        {
            Assert.Equal(CheckpointKind.Periodic, c.Kind);
            Assert.Equal(c.Position.GlobalStep - (c.Position.CompletedEpochs * (long)Batches), c.Position.BatchInEpoch);
            Assert.InRange(c.Position.BatchInEpoch, 1, Batches - 1);
            Assert.Equal(c.Position.BatchInEpoch * 64L, c.Position.EpochSamples);
            Assert.Equal(["accuracy", "learningRate", "loss"], c.Metrics.Keys.Order(StringComparer.Ordinal));
        });
        Assert.Equal([0, 0, 1, 1, 2, 2], mid.Select(c => c.Position.CompletedEpochs));
        Assert.Equal(CheckpointKind.Last, observer.Checkpoints[^1].Kind);
    }

    [Fact]
    public async Task RunAsync_EveryStepsLandingOnLastBatch_ServedByEpochEndCheckpointEvenWithSaveBestOnly()
    {
        // Step 23 is the last batch of epoch 1, 46 of epoch 2: "a request on the last batch is served by the epoch-end
        // checkpoint right after it", so each epoch end must get one even though SaveBestOnly suppresses plain periodics.
        var config = PolicyTraining.Config(3) with { Checkpoint = ImprovesOnlyOnce with { EverySteps = Batches, SaveBestOnly = true } };

        var (_, observer) = await PolicyTraining.RunAsync(config);

        Assert.Empty(observer.MidEpoch);
        Assert.Equal([(CheckpointKind.Best, 1), (CheckpointKind.Periodic, 2), (CheckpointKind.Last, 3)], EpochEndKinds(observer));
    }

    [Fact]
    public async Task RunAsync_ControlRequestsOnce_WritesExactlyOneManualCheckpointAfterThatBatch()
    {
        var control = new PolicyTestControl(requestOnCall: Batches + 5);

        var (_, observer) = await PolicyTraining.RunAsync(PolicyTraining.Config(3), control);

        var manual = Assert.Single(observer.Checkpoints, c => c.Kind == CheckpointKind.Manual);
        Assert.Equal(new TrainingPosition(1, Batches + 5, 5, 0, 0, 0, 0), manual.Position with { EpochLossSum = 0, EpochCorrect = 0, EpochSamples = 0, EpochElapsedMs = 0 });
        Assert.Equal(3 * Batches, control.Calls);
        Assert.Equal(4, observer.Checkpoints.Count);
    }

    [Fact]
    public async Task RunAsync_ControlRequestOnLastBatch_EpochEndCheckpointIsManual()
    {
        var control = new PolicyTestControl(requestOnCall: Batches);

        var (_, observer) = await PolicyTraining.RunAsync(PolicyTraining.Config(3) with { Checkpoint = ImprovesOnlyOnce }, control);

        Assert.Empty(observer.MidEpoch);
        Assert.Equal([(CheckpointKind.Manual, 1), (CheckpointKind.Periodic, 2), (CheckpointKind.Last, 3)], EpochEndKinds(observer));
    }

    [Fact]
    public async Task RunAsync_ControlRequestWithSaveBestOnly_StillWritesManual()
    {
        var control = new PolicyTestControl(requestOnCall: (2 * Batches) + 3);
        var config = PolicyTraining.Config(3) with { Checkpoint = ImprovesOnlyOnce with { SaveBestOnly = true, EveryEpochs = 0 } };

        var (_, observer) = await PolicyTraining.RunAsync(config, control);

        Assert.Equal(
            [(CheckpointKind.Best, 0L + Batches), (CheckpointKind.Manual, (2L * Batches) + 3), (CheckpointKind.Last, 3L * Batches)],
            observer.Checkpoints.Select(c => (c.Kind, c.Position.GlobalStep)));
    }

    [Fact]
    public async Task RunAsync_EarlyStoppingPatienceOneWithoutImprovement_StopsEarlyWithLast()
    {
        var config = PolicyTraining.Config(10) with
        {
            LearningRate = 1e-7,
            EarlyStopping = new EarlyStoppingConfig { Patience = 1, MinDelta = 10 },
        };

        var (outcome, observer) = await PolicyTraining.RunAsync(config);

        Assert.Equal(TrainingOutcome.EarlyStopped, outcome);
        Assert.Equal([1, 2], observer.Epochs.Select(e => e.Epoch));
        var final = observer.Checkpoints[^1];
        Assert.Equal(CheckpointKind.Last, final.Kind);
        Assert.Equal(2, final.Position.CompletedEpochs);
        Assert.Equal(new EarlyStoppingState(observer.Epochs[0].ValLoss, 1, 1), final.State.EarlyStopping);
        Assert.Single(observer.Checkpoints, c => c.Kind == CheckpointKind.Last);
    }

    [Fact]
    public async Task RunAsync_RestoreBestWeights_FinalWeightsAreTheBestEpochs()
    {
        // MinDelta 10 makes epoch 1 the best for early stopping; patience 2 stops after epoch 3.
        var config = PolicyTraining.Config(10) with
        {
            EarlyStopping = new EarlyStoppingConfig { Patience = 2, MinDelta = 10, RestoreBestWeights = true },
        };

        var (outcome, observer) = await PolicyTraining.RunAsync(config);

        Assert.Equal(TrainingOutcome.EarlyStopped, outcome);
        Assert.Equal(3, observer.Epochs.Count);
        var atBest = observer.EpochEnds.Single(c => c.Position.CompletedEpochs == 1);
        var second = observer.EpochEnds.Single(c => c.Position.CompletedEpochs == 2);
        var final = observer.Checkpoints[^1];
        Assert.Equal(CheckpointKind.Last, final.Kind);
        Assert.Equal(atBest.Weights, atBest.BestWeights);
        Assert.Equal(atBest.Weights, final.BestWeights);
        Assert.Equal(atBest.Weights, final.Weights);
        Assert.NotEqual(atBest.Weights, second.Weights);
    }

    [Fact]
    public async Task RunAsync_WithoutRestoreBestWeights_KeepsLastEpochsWeightsAndNoBestWeights()
    {
        var config = PolicyTraining.Config(10) with { EarlyStopping = new EarlyStoppingConfig { Patience = 1, MinDelta = 10 } };

        var (_, observer) = await PolicyTraining.RunAsync(config);

        var final = observer.Checkpoints[^1];
        Assert.All(observer.Checkpoints, c => Assert.Null(c.BestWeights));
        Assert.NotEqual(observer.Checkpoints[0].Weights, final.Weights);
    }

    [Fact]
    public async Task RunAsync_StepSchedule_ShowsInEpochLearningRates()
    {
        var config = PolicyTraining.Config(5) with { Schedule = new ScheduleConfig { Type = ScheduleConfig.Step, StepEpochs = 2, Gamma = 0.5 } };

        var (_, observer) = await PolicyTraining.RunAsync(config);

        Assert.Equal([0.01, 0.01, 0.005, 0.005, 0.0025], observer.Epochs.Select(e => e.LearningRate));
        Assert.Equal(0.0025, observer.Checkpoints[^1].State.Schedule.LearningRate); // after epoch 5: 0.01 · 0.5^(5 / 2)
    }

    [Fact]
    public async Task RunAsync_CancelledMidEpoch_WritesInterruptAndReturnsCancelled()
    {
        using var stop = new CancellationTokenSource();
        var observer = new PolicyTestObserver(c =>
        {
            if (c.Position.GlobalStep == 30 && c.Kind == CheckpointKind.Periodic)
            {
                stop.Cancel();
            }
        });
        var config = PolicyTraining.Config(3) with { Checkpoint = new CheckpointPolicy { EverySteps = 10 } };

        var outcome = await PolicyTraining.Trainer().RunAsync(new TrainingRequest(config, "cpu"), observer, stop.Token);

        Assert.Equal(TrainingOutcome.Cancelled, outcome);
        var interrupt = observer.Checkpoints[^1];
        Assert.Equal(CheckpointKind.Interrupt, interrupt.Kind);
        // The step-30 checkpoint is handed on after the next batch (its copy overlaps that batch), so the stop lands at 31.
        Assert.Equal(new TrainingPosition(1, 31, 8, 0, 0, 0, 0), interrupt.Position with { EpochLossSum = 0, EpochCorrect = 0, EpochSamples = 0, EpochElapsedMs = 0 });
        Assert.Single(observer.Epochs);
    }
}
