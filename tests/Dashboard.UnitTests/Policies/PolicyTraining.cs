using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using Dashboard.Engine.Training;
using Dashboard.Engine.Training.Optimizers;

namespace Dashboard.UnitTests.Policies;

/// <summary>Real TorchSharp runs on the tiny spirals dataset: 1,440 training samples, so 23 batches of 64 per epoch.</summary>
internal static class PolicyTraining
{
    public const int BatchesPerEpoch = 23;

    private static readonly DatasetRegistry Datasets = DatasetRegistry.CreateDefault();
    private static readonly ModelRegistry Models = ModelRegistry.CreateDefault();

    public static TrainingConfig Config(int epochs) => new()
    {
        Dataset = SpiralsDataset.DatasetName,
        Model = "mlp",
        Epochs = epochs,
        BatchSize = 64,
        ValidationSplit = 0.2,
        LearningRate = 0.01,
        Optimizer = OptimizerNames.Adam,
        Seed = 42,
    };

    public static Trainer Trainer() => new(Datasets, Models);

    public static TrainingConfigValidator Validator() => new(Datasets, Models);

    public static async Task<(TrainingOutcome Outcome, PolicyTestObserver Observer)> RunAsync(
        TrainingConfig config,
        ITrainingControl? control = null,
        CancellationToken stopToken = default)
    {
        var observer = new PolicyTestObserver();
        var outcome = await Trainer().RunAsync(new TrainingRequest(config, "cpu", Control: control), observer, stopToken);
        return (outcome, observer);
    }
}
