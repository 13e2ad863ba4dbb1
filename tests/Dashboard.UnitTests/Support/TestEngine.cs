using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using Dashboard.Engine.Training;
using Dashboard.Engine.Training.Optimizers;

namespace Dashboard.UnitTests.Support;

/// <summary>The real registries, shared so the MNIST file is decoded once per test run.</summary>
public static class TestEngine
{

    public static DatasetRegistry Datasets { get; } = DatasetRegistry.CreateDefault();

    public static ModelRegistry Models { get; } = ModelRegistry.CreateDefault();

    /// <summary>An MNIST subset small enough for a few epochs in a unit test, large enough for the loss to move.</summary>
    public static TrainingConfig MnistSubset(long seed = 42, int epochs = 4) => new()
    {
        Dataset = MnistDataset.DatasetName,
        Model = "mlp",
        Epochs = epochs,
        BatchSize = 32,
        LearningRate = 0.001,
        Optimizer = OptimizerNames.Adam,
        Seed = seed,
        SampleLimit = 2000,
    };

    public static async Task<(TrainingOutcome Outcome, RecordingObserver Observer)> TrainAsync(
        TrainingConfig config,
        RecordingObserver? observer = null,
        LoadedCheckpoint? resumeFrom = null,
        CancellationToken stopToken = default)
    {
        observer ??= new RecordingObserver();
        var outcome = await new Trainer(Datasets, Models).RunAsync(new TrainingRequest(config, "cpu", resumeFrom), observer, stopToken);
        return (outcome, observer);
    }
}
