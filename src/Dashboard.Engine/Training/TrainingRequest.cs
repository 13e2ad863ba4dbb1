using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Configuration;
using static TorchSharp.torch;

namespace Dashboard.Engine.Training;

/// <summary>What to train and on which device, with a way to ask for checkpoints.</summary>
/// <param name="ResumeFrom">Continue exactly from this checkpoint: weights, optimizer, position, schedule, stopping state.</param>
/// <param name="InitFrom">Fine-tune: start at epoch 1 from this checkpoint's weights (and optimizer state, where it fits).</param>
/// <param name="InitialWeights">
/// A new run from an uploaded weights file: applied to the seeded model before training (it copies every tensor whose
/// name and shape the model has); ignored when the run resumes from a checkpoint of its own. A delegate, so the loop
/// stays apart from file formats.
/// </param>
public sealed record TrainingRequest(
    TrainingConfig Config,
    string Device,
    LoadedCheckpoint? ResumeFrom = null,
    ITrainingControl? Control = null,
    LoadedCheckpoint? InitFrom = null,
    Action<nn.Module<Tensor, Tensor>>? InitialWeights = null);

/// <summary>The loss stopped being a finite number; the run cannot go on.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>Requests that reach a run while it trains.</summary>
public interface ITrainingControl
{
    /// <summary>True once per "checkpoint now" request; the loop writes a manual checkpoint after the current batch.</summary>
    bool TakeCheckpointRequest();
}
