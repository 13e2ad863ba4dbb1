using Dashboard.Engine.Checkpoints;

namespace Dashboard.Engine.Training;

/// <summary>
/// Receives what a training run produces. The engine calls it from its own thread and awaits the async members only between
/// batches, so a slow observer slows training but never corrupts it.
/// </summary>
public interface ITrainingObserver
{
    ValueTask OnStartedAsync(RunStartInfo info, CancellationToken cancellationToken);

    /// <summary>Called a few times a second at most; must return quickly.</summary>
    void OnProgress(BatchProgress progress);

    /// <summary>
    /// Called after every optimizer step with that batch's loss, on the training thread and before the step's
    /// <see cref="OnProgress"/>: it must not block or allocate per call. An observer that keeps steps buffers them and
    /// writes them in batches. After a resume, steps past the checkpoint are reported again.
    /// </summary>
    void OnStep(in StepMetrics step)
    {
    }

    ValueTask OnEpochCompletedAsync(EpochMetrics metrics, CancellationToken cancellationToken);

    /// <summary>The loop has copied its state to host memory; the observer decides where and how it is written.</summary>
    ValueTask OnCheckpointAsync(CheckpointSnapshot snapshot, CancellationToken cancellationToken);
}
