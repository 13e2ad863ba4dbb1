using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Training;
using Dashboard.Engine.Training.Optimizers;
using Dashboard.UnitTests.Support;

namespace Dashboard.UnitTests.Engine.Tabular;

public sealed class CsvTrainingTests : IDisposable
{
    private readonly TempDirectory _folder = new();

    public void Dispose() => _folder.Dispose();

    private static TrainingConfig Regression(int epochs) => new()
    {
        Dataset = "houses",
        Model = "mlp",
        Epochs = epochs,
        BatchSize = 32,
        LearningRate = 0.01,
        Optimizer = OptimizerNames.Adam,
        Seed = 5,
    };

    [Fact]
    public void Split_NumericInputs_AreStandardisedWithTheTrainingSplitStatisticsOnly()
    {
        var (_, source) = HousePrices.Register(_folder.Path, HousePrices.Csv(), features: ["x1", "x2", "city"]);
        var data = source.Load();
        var train = DatasetSplitter.Indices(data, 0.2, null).Train;

        var statistics = DatasetSplitter.StandardizationFor(data, 0.2, null);

        var x1 = train.Select(i => (double)data.Features[i * data.SampleSize]).ToArray();
        var mean = x1.Average();
        Assert.Equal([0, 1], statistics.Slots);
        Assert.Equal(mean, statistics.Means[0], 4);
        Assert.Equal(Math.Sqrt(x1.Average(v => (v - mean) * (v - mean))), statistics.Deviations[0], 4);

        // Over every sample the mean differs: the validation and test rows were not part of it.
        Assert.NotEqual(data.Features.Where((_, i) => i % data.SampleSize == 0).Average(v => (double)v), statistics.Means[0], 6);
    }

    [Fact]
    public async Task RunAsync_RegressionTable_ReportsMaeInsteadOfAccuracyAndValMaeFalls()
    {
        var (registry, _) = HousePrices.Register(_folder.Path, HousePrices.Csv(), features: ["x1", "x2", "city"]);
        var observer = new RecordingObserver();

        await new Trainer(registry, TestEngine.Models).RunAsync(new TrainingRequest(Regression(8), "cpu"), observer, CancellationToken.None);

        Assert.All(observer.Epochs, e => Assert.Null(e.Accuracy));
        Assert.All(observer.Epochs, e => Assert.NotNull(e.ValMae));
        Assert.True(observer.Epochs[^1].ValMae < observer.Epochs[0].ValMae / 2, $"valMae {observer.Epochs[0].ValMae} → {observer.Epochs[^1].ValMae}");
        Assert.False(observer.Epochs[^1].ToDictionary().ContainsKey("accuracy"));
    }

    [Fact]
    public async Task RunAsync_RegressionResumedMidEpochThroughTheStore_EndsWithTheSameWeightsAndMetrics()
    {
        var (registry, _) = HousePrices.Register(_folder.Path, HousePrices.Csv(), features: ["x1", "x2", "city"]);
        var trainer = new Trainer(registry, TestEngine.Models);
        var straight = new RecordingObserver();
        await trainer.RunAsync(new TrainingRequest(Regression(3), "cpu"), straight, CancellationToken.None);

        using var stop = new CancellationTokenSource();
        var cut = new RecordingObserver { OnProgressHook = p => { if (p.Epoch == 2) { stop.Cancel(); } } };
        Assert.Equal(TrainingOutcome.Cancelled, await trainer.RunAsync(new TrainingRequest(Regression(3), "cpu"), cut, stop.Token));
        var interrupt = cut.LastCheckpoint;
        Assert.True(interrupt.Position.BatchInEpoch > 0 && interrupt.Position.EpochAbsErrorSum > 0, "the cut must fall inside epoch 2");

        using var store = new TempDirectory();
        var checkpoints = new Dashboard.Engine.Checkpoints.CheckpointStore(store.Path);
        var written = checkpoints.Write("run-1", "interrupt", interrupt);
        var resumed = new RecordingObserver();
        await trainer.RunAsync(new TrainingRequest(Regression(3), "cpu", checkpoints.Read(written.RelativePath, written.Sha256)), resumed, CancellationToken.None);

        Assert.Equal(straight.LastCheckpoint.Weights, resumed.LastCheckpoint.Weights);
        Assert.Equal(
            straight.Epochs[^1] with { DurationMs = 0, SamplesPerSecond = 0 },
            resumed.Epochs[^1] with { DurationMs = 0, SamplesPerSecond = 0 });
        Assert.Equal(straight.Epochs[1].Mae, resumed.Epochs[0].Mae);
    }

    [Fact]
    public void Validate_AccuracyMonitorOnARegressionTable_IsRefused()
    {
        var (registry, _) = HousePrices.Register(_folder.Path, HousePrices.Csv(), features: ["x1", "x2", "city"]);
        var validator = new TrainingConfigValidator(registry, TestEngine.Models);

        var accuracy = validator.Validate(Regression(2) with { EarlyStopping = new() { Monitor = "valAccuracy" } });
        var mae = validator.Validate(Regression(2) with { EarlyStopping = new() { Monitor = "valMae" } });
        var maeOnSpirals = validator.Validate(Regression(2) with { Dataset = "spirals", EarlyStopping = new() { Monitor = "valMae" } });

        Assert.Contains("earlyStopping.monitor", accuracy.Keys);
        Assert.Empty(mae);
        Assert.Contains("earlyStopping.monitor", maeOnSpirals.Keys);
    }
}
