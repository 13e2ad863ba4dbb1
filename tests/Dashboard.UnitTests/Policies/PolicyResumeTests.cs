using System.Collections.Concurrent;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Policies;
using Dashboard.Engine.Training;

namespace Dashboard.UnitTests.Policies;

/// <summary>
/// A run stopped at a checkpoint and resumed from the stored files must continue exactly as if it had never stopped:
/// same metrics bit for bit, same checkpoints, same final weights. This covers the data order, the optimizer, the running
/// epoch sums and the policy state (schedule, early stopping, best monitor value, best weights) that checkpoints carry.
/// </summary>
public sealed class PolicyResumeTests
{
    private const int Epochs = 4;

    // The uninterrupted reference run of each schedule, shared by the cases that cut it at different points.
    private static readonly ConcurrentDictionary<string, Lazy<Task<(TrainingOutcome, PolicyTestObserver)>>> StraightRuns = new();

    public enum Cut
    {
        /// <summary>The EverySteps checkpoint at step 50, batch 4 of epoch 3.</summary>
        MidEpochPeriodic,

        /// <summary>
        /// Cancelled as that checkpoint is handed on, which is after the next batch (its copy overlaps that batch): the
        /// interrupt checkpoint one batch later, at step 51, batch 5.
        /// </summary>
        Interrupt,

        /// <summary>The end of epoch 2.</summary>
        EpochEnd,
    }

    private static TrainingConfig Config(string scheduleType) => PolicyTraining.Config(Epochs) with
    {
        Checkpoint = new CheckpointPolicy { EverySteps = 10 },
        Schedule = scheduleType == ScheduleConfig.Plateau
            ? new ScheduleConfig { Type = ScheduleConfig.Plateau, Patience = 0, Factor = 0.5, Threshold = 0.2, Cooldown = 1 }
            : new ScheduleConfig { Type = ScheduleConfig.Step, StepEpochs = 2, Gamma = 0.5 },
        EarlyStopping = new EarlyStoppingConfig { Patience = 50, RestoreBestWeights = true },
    };

    private static bool IsCut(CheckpointSnapshot snapshot, Cut cut) => cut switch
    {
        Cut.EpochEnd => snapshot.Position is { CompletedEpochs: 2, BatchInEpoch: 0 },
        _ => snapshot.Kind == CheckpointKind.Periodic && snapshot.Position is { CompletedEpochs: 2, BatchInEpoch: > 0 },
    };

    /// <summary>Everything of a checkpoint that must not depend on whether the run was interrupted (not wall-clock time).</summary>
    private static object Comparable(CheckpointSnapshot c) => (
        c.Kind,
        c.Position with { EpochElapsedMs = 0 },
        string.Join(";", c.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => $"{m.Key}={m.Value:R}")),
        c.State,
        Convert.ToHexString(c.Weights),
        Convert.ToHexString(c.OptimizerState),
        c.BestWeights is null ? null : Convert.ToHexString(c.BestWeights));

    private static (int, long, double, double, double?, double?, double) Comparable(EpochMetrics m) =>
        (m.Epoch, m.Step, m.Loss, m.ValLoss, m.Accuracy, m.ValAccuracy, m.LearningRate);

    [Theory]
    [InlineData(ScheduleConfig.Plateau, Cut.MidEpochPeriodic)]
    [InlineData(ScheduleConfig.Plateau, Cut.Interrupt)]
    [InlineData(ScheduleConfig.Plateau, Cut.EpochEnd)]
    [InlineData(ScheduleConfig.Step, Cut.MidEpochPeriodic)]
    public async Task RunAsync_ResumedFromStoredCheckpoint_ContinuesExactlyLikeStraightRun(string scheduleType, Cut cut)
    {
        var config = Config(scheduleType);
        var (straightOutcome, straight) = await StraightRuns.GetOrAdd(scheduleType, _ => new(() => PolicyTraining.RunAsync(config))).Value;
        Assert.Equal(TrainingOutcome.Completed, straightOutcome);
        Assert.True(straight.Epochs.Select(e => e.LearningRate).Distinct().Count() > 1, "the schedule should change the rate in this run");

        // Second run: stopped right after the chosen checkpoint.
        using var stop = new CancellationTokenSource();
        CheckpointSnapshot? chosen = null;
        var interrupted = new PolicyTestObserver(c =>
        {
            if (chosen is null && IsCut(c, cut))
            {
                chosen = c;
                stop.Cancel();
            }
        });
        var outcome = await PolicyTraining.Trainer().RunAsync(new TrainingRequest(config, "cpu"), interrupted, stop.Token);
        Assert.Equal(TrainingOutcome.Cancelled, outcome);
        var cutAt = cut == Cut.Interrupt ? interrupted.Checkpoints[^1] : chosen!;
        Assert.Equal(cut == Cut.Interrupt ? CheckpointKind.Interrupt : chosen!.Kind, cutAt.Kind);
        if (cut != Cut.EpochEnd)
        {
            Assert.Equal(cut == Cut.Interrupt ? (2, 51L, 5) : (2, 50L, 4), (cutAt.Position.CompletedEpochs, cutAt.Position.GlobalStep, cutAt.Position.BatchInEpoch));
        }

        // The cut carries real schedule state: the rate was already lowered, so a resume that ignored it would diverge.
        Assert.True(cutAt.State.Schedule.LearningRate < config.LearningRate);
        Assert.NotNull(cutAt.State.EarlyStopping?.Best);
        Assert.NotNull(cutAt.BestWeights);

        // The interrupted run agreed with the straight one up to the cut (the straight run has no checkpoint at step 51;
        // that the interrupt there is exact is shown by the continuation below).
        Assert.Equal(Comparable(straight.Checkpoints.Single(c => c.Position.GlobalStep == chosen!.Position.GlobalStep)), Comparable(chosen!));

        using var folder = new PolicyTempDirectory();
        var store = new CheckpointStore(folder.Path);
        var written = store.Write("run-1", "cut", cutAt);
        var loaded = store.Read(written.RelativePath, written.Sha256);
        Assert.Equal(cutAt.Position, loaded.Manifest.Position);
        Assert.Equal(cutAt.State, loaded.Manifest.State);

        var resumed = new PolicyTestObserver();
        var resumedOutcome = await PolicyTraining.Trainer().RunAsync(new TrainingRequest(config, "cpu", loaded), resumed, CancellationToken.None);

        Assert.Equal(TrainingOutcome.Completed, resumedOutcome);
        Assert.Equal(cutAt.Position.CompletedEpochs + 1, resumed.Started!.StartEpoch);
        Assert.Equal(
            straight.Epochs.Where(e => e.Epoch > cutAt.Position.CompletedEpochs).Select(Comparable),
            resumed.Epochs.Select(Comparable));
        Assert.Equal(
            straight.Checkpoints.Where(c => c.Position.GlobalStep > cutAt.Position.GlobalStep).Select(Comparable),
            resumed.Checkpoints.Select(Comparable));
        Assert.Equal(straight.Checkpoints[^1].Weights, resumed.Checkpoints[^1].Weights);
    }
}
