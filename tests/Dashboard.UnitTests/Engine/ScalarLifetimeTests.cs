using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Training;
using Dashboard.Engine.Training.Optimizers;
using Dashboard.UnitTests.Support;

namespace Dashboard.UnitTests.Engine;

/// <summary>
/// No Scalar of a training step is left to the finalizer. TorchSharp 0.107's optimizers pass temporary Scalars to native
/// calls without keeping them alive, so a collection started by another thread (another run's, a request's) could free
/// one while libtorch read it: the rare <c>c10::Scalar</c> check failure in <c>add_</c> with two runs in one process.
/// Counting finalized Scalars shows whether code can hit that race at all, every time, where waiting for the race only
/// shows whether it happened (see <see cref="ConcurrentTrainerTests"/> for that, end to end).
/// </summary>
[Collection(FinalizerCountCollection.Name)]
public sealed class ScalarLifetimeTests
{
    private const int Steps = 50;

    public static TheoryData<string> Names => [.. OptimizerNames.All];

    [Theory]
    [MemberData(nameof(Names))]
    public void Step_ManySteps_LeavesNoScalarToTheFinalizer(string name)
    {
        using var data = OptimizerTests.NewBatch(seed: 3);
        using var ours = OptimizerTests.Model(seed: 5);
        using var theirs = OptimizerTests.Model(seed: 5);
        using var optimizer = OptimizerFactory.Create(name, ours.parameters(), 0.001);
        using var reference = OptimizerTests.TorchSharpOptimizer(name, theirs.parameters(), 0.001);
        using var finalized = new ScalarFinalizations();

        // TorchSharp's own optimizer first: the count must see the Scalars it leaves behind, or a zero below proves nothing.
        finalized.Start();
        for (var step = 0; step < Steps; step++)
        {
            OptimizerTests.TrainStep(theirs, data, reference.zero_grad, () => reference.step());
        }

        finalized.Settle();
        Assert.True(finalized.Count >= Steps, $"TorchSharp's {name} left {finalized.Count} Scalars to the finalizer in {Steps} steps; the count does not see them.");

        finalized.Start();
        for (var step = 0; step < Steps; step++)
        {
            OptimizerTests.TrainStep(ours, data, optimizer.ZeroGrad, optimizer.Step);
        }

        finalized.Settle();
        Assert.Equal(0, finalized.Count);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public async Task RunAsync_WholeRun_LeavesNoScalarToTheFinalizer(string name)
    {
        // Everything a run does: split, seeded build, batches, validation, the checkpoint copied on another thread.
        var config = new TrainingConfig
        {
            Dataset = SpiralsDataset.DatasetName,
            Model = "mlp",
            Epochs = 2,
            BatchSize = 64,
            Optimizer = name,
            Seed = 9,
            Checkpoint = new() { EverySteps = 10 },
        };
        using var finalized = new ScalarFinalizations();
        finalized.Start();

        var (outcome, observer) = await TestEngine.TrainAsync(config);
        finalized.Settle();

        Assert.Equal(TrainingOutcome.Completed, outcome);
        Assert.NotEmpty(observer.Checkpoints);
        Assert.Equal(0, finalized.Count);
    }
}
