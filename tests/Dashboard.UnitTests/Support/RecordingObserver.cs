using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Training;

namespace Dashboard.UnitTests.Support;

/// <summary>Keeps everything a run reports; the optional hooks let a test react (e.g. cancel) at a chosen point.</summary>
public sealed class RecordingObserver : ITrainingObserver
{
    public RunStartInfo? Started { get; private set; }

    public List<BatchProgress> Progress { get; } = [];

    public List<EpochMetrics> Epochs { get; } = [];

    public List<CheckpointSnapshot> Checkpoints { get; } = [];

    public List<StepMetrics> Steps { get; } = [];

    public Action<BatchProgress>? OnProgressHook { get; init; }

    public Action<EpochMetrics>? OnEpochHook { get; init; }

    public Action<CheckpointSnapshot>? OnCheckpointHook { get; init; }

    public CheckpointSnapshot LastCheckpoint => Checkpoints.Count > 0 ? Checkpoints[^1] : throw new InvalidOperationException("The run offered no checkpoint.");

    public ValueTask OnStartedAsync(RunStartInfo info, CancellationToken cancellationToken)
    {
        Started = info;
        return ValueTask.CompletedTask;
    }

    public void OnProgress(BatchProgress progress)
    {
        Progress.Add(progress);
        OnProgressHook?.Invoke(progress);
    }

    public void OnStep(in StepMetrics step) => Steps.Add(step);

    public ValueTask OnEpochCompletedAsync(EpochMetrics metrics, CancellationToken cancellationToken)
    {
        Epochs.Add(metrics);
        OnEpochHook?.Invoke(metrics);
        return ValueTask.CompletedTask;
    }

    public ValueTask OnCheckpointAsync(CheckpointSnapshot snapshot, CancellationToken cancellationToken)
    {
        Checkpoints.Add(snapshot);
        OnCheckpointHook?.Invoke(snapshot);
        return ValueTask.CompletedTask;
    }
}
