using Dashboard.Engine.Configuration;
using Dashboard.Engine.Models;
using Dashboard.Engine.Policies;

namespace Dashboard.Engine.Checkpoints;

/// <summary>
/// Where a checkpoint sits in the data order. <see cref="BatchInEpoch"/> is 0 at an epoch boundary; otherwise the
/// running sums let a resumed epoch report the same metrics as an uninterrupted one.
/// </summary>
public sealed record TrainingPosition(
    int CompletedEpochs,
    long GlobalStep,
    int BatchInEpoch,
    double EpochLossSum,
    long EpochCorrect,
    long EpochSamples,
    double EpochElapsedMs,
    double EpochAbsErrorSum = 0);

/// <summary>
/// Loop state beyond weights and optimizer: the best monitored value (for "best" checkpoints), the schedule and early
/// stopping. The shuffling order needs no state: it is a pure function of seed and epoch.
/// </summary>
public sealed record TrainerState(double? MonitorBest, ScheduleState Schedule, EarlyStoppingState? EarlyStopping);

/// <summary>
/// The whole training state, copied to host memory: what the training loop hands over so it can go on while the files
/// are written.
/// </summary>
public sealed record CheckpointSnapshot(
    string Kind,
    TrainingPosition Position,
    IReadOnlyDictionary<string, double> Metrics,
    TrainingConfig Config,
    ModelSpec ModelSpec,
    byte[] Weights,
    byte[] OptimizerState,
    byte[] TorchRngState,
    TrainerState State,
    byte[]? BestWeights = null)
{
    /// <summary>The trainer's pooled arrays behind <see cref="Weights"/> and <see cref="OptimizerState"/>, if they are pooled.</summary>
    public BufferLease? Buffers { get; init; }

    /// <summary>
    /// Called by the observer once the bytes are written and nothing will read this snapshot again: the trainer copies a
    /// later snapshot into the same arrays instead of into fresh memory. Not calling it is always safe.
    /// </summary>
    public void ReleaseBuffers() => Buffers?.Release();
}
