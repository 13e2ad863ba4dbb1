using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Training.Optimizers;
using Dashboard.UnitTests.Support;

namespace Dashboard.UnitTests.Engine;

public sealed class TrainingConfigValidatorTests
{
    private static readonly TrainingConfigValidator Validator = new(TestEngine.Datasets, TestEngine.Models);

    /// <summary>Valid, with a batch small enough that the smallest allowed sample limit does not also trip the batch rule.</summary>
    private static readonly TrainingConfig Valid = new() { BatchSize = 8 };

    [Fact]
    public void Validate_DefaultConfig_HasNoErrors()
    {
        Assert.Empty(Validator.Validate(new TrainingConfig()));
    }

    [Theory]
    [InlineData(MnistDataset.DatasetName, "mlp", OptimizerNames.Sgd)]
    [InlineData(MnistDataset.DatasetName, "cnn", OptimizerNames.Adam)]
    [InlineData(SpiralsDataset.DatasetName, "MLP", OptimizerNames.AdamW)]
    [InlineData("MNIST", "mlp", OptimizerNames.Adam)]
    public void Validate_KnownCombination_HasNoErrors(string dataset, string model, string optimizer)
    {
        Assert.Empty(Validator.Validate(Valid with { Dataset = dataset, Model = model, Optimizer = optimizer }));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(TrainingConfigValidator.MaxEpochs)]
    public void Validate_EpochsAtBounds_HasNoErrors(int epochs)
    {
        Assert.Empty(Validator.Validate(Valid with { Epochs = epochs }));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(TrainingConfigValidator.MaxEpochs + 1)]
    public void Validate_EpochsOutOfRange_ReportsEpochs(int epochs)
    {
        AssertOnlyError(Valid with { Epochs = epochs }, "epochs");
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.001)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    [InlineData(10.000001)]
    public void Validate_LearningRateNotPositiveFiniteOrAboveTen_ReportsLearningRate(double learningRate)
    {
        AssertOnlyError(Valid with { LearningRate = learningRate }, "learningRate");
    }

    [Fact]
    public void Validate_LearningRateOfTen_HasNoErrors()
    {
        Assert.Empty(Validator.Validate(Valid with { LearningRate = TrainingConfigValidator.MaxLearningRate }));
    }

    [Theory]
    [InlineData("rmsprop")]
    [InlineData("Adam")]
    [InlineData("")]
    [InlineData(null)]
    public void Validate_UnknownOptimizer_ReportsOptimizer(string? optimizer)
    {
        AssertOnlyError(Valid with { Optimizer = optimizer! }, "optimizer");
    }

    [Theory]
    [InlineData("cifar10")]
    [InlineData("")]
    [InlineData(null)]
    public void Validate_UnknownDataset_ReportsDataset(string? dataset)
    {
        AssertOnlyError(Valid with { Dataset = dataset! }, "dataset");
    }

    [Theory]
    [InlineData("transformer")]
    [InlineData(null)]
    public void Validate_UnknownModel_ReportsModel(string? model)
    {
        AssertOnlyError(Valid with { Model = model! }, "model");
    }

    [Fact]
    public void Validate_CnnOnSpirals_ReportsModelWithReason()
    {
        var errors = AssertOnlyError(Valid with { Dataset = SpiralsDataset.DatasetName, Model = "cnn" }, "model");

        Assert.Contains("divide by 4", Assert.Single(errors["model"]));
    }

    [Theory]
    [InlineData(-1L)]
    [InlineData(long.MinValue)]
    [InlineData((long)uint.MaxValue + 1)]
    public void Validate_SeedOutOfRange_ReportsSeed(long seed)
    {
        AssertOnlyError(Valid with { Seed = seed }, "seed");
    }

    [Theory]
    [InlineData(0L)]
    [InlineData((long)uint.MaxValue)]
    public void Validate_SeedAtBounds_HasNoErrors(long seed)
    {
        Assert.Empty(Validator.Validate(Valid with { Seed = seed }));
    }

    [Theory]
    [InlineData(MnistDataset.DatasetName, 0)]
    [InlineData(MnistDataset.DatasetName, -5)]
    [InlineData(MnistDataset.DatasetName, 8101)]
    [InlineData(SpiralsDataset.DatasetName, 1621)]
    [InlineData("cifar10", 0)]
    public void Validate_BatchSizeZeroOrAboveTrainingSplit_ReportsBatchSize(string dataset, int batchSize)
    {
        var errors = Validator.Validate(Valid with { Dataset = dataset, BatchSize = batchSize });

        Assert.Contains("batchSize", errors.Keys);
    }

    [Theory]
    [InlineData(MnistDataset.DatasetName, 8100)]
    [InlineData(SpiralsDataset.DatasetName, 1620)]
    public void Validate_BatchSizeEqualToTrainingSplit_HasNoErrors(string dataset, int batchSize)
    {
        Assert.Empty(Validator.Validate(Valid with { Dataset = dataset, BatchSize = batchSize }));
    }

    [Fact]
    public void Validate_BatchSizeAboveLimitedTrainingSplit_ReportsBatchSize()
    {
        // 100 samples leave 10 for test and 9 for validation: 81 to train on.
        AssertOnlyError(Valid with { SampleLimit = 100, BatchSize = 82 }, "batchSize");
        Assert.Empty(Validator.Validate(Valid with { SampleLimit = 100, BatchSize = 81 }));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.009)]
    [InlineData(0.51)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Validate_ValidationSplitOutOfRange_ReportsValidationSplit(double split)
    {
        AssertOnlyError(Valid with { ValidationSplit = split }, "validationSplit");
    }

    [Theory]
    [InlineData(MnistDataset.DatasetName, 19)]
    [InlineData(MnistDataset.DatasetName, 0)]
    [InlineData(MnistDataset.DatasetName, 10_001)]
    [InlineData(SpiralsDataset.DatasetName, 2_001)]
    [InlineData(SpiralsDataset.DatasetName, -1)]
    public void Validate_SampleLimitOutOfRange_ReportsOnlySampleLimit(string dataset, int limit)
    {
        var errors = Validator.Validate(Valid with { Dataset = dataset, SampleLimit = limit });

        // Not also the batch size: with the limit wrong, whether the batch fits cannot be told.
        Assert.Equal(["sampleLimit"], errors.Keys);
    }

    [Fact]
    public void Validate_ConfigLeavingNoValidationSample_ReportsError()
    {
        var config = Valid with { SampleLimit = TrainingConfigValidator.MinSampleLimit, ValidationSplit = TrainingConfigValidator.MinValidationSplit };
        Assert.Equal(0, DatasetSplitter.Sizes(10_000, config.ValidationSplit, config.SampleLimit).Validation);

        Assert.NotEmpty(Validator.Validate(config));
    }

    [Theory]
    [InlineData(TrainingConfigValidator.MinSampleLimit)]
    [InlineData(10_000)]
    public void Validate_SampleLimitAtBounds_HasNoErrors(int limit)
    {
        Assert.Empty(Validator.Validate(Valid with { SampleLimit = limit }));
    }

    [Fact]
    public void Validate_SeveralBadFields_ReportsEachOnce()
    {
        var errors = Validator.Validate(new TrainingConfig { Epochs = 0, LearningRate = -1, Optimizer = "x", Seed = -1, ValidationSplit = 2 });

        Assert.Equal(["epochs", "learningRate", "optimizer", "seed", "validationSplit"], errors.Keys.Order());
        Assert.All(errors.Values, messages => Assert.Single(messages));
    }

    private static IReadOnlyDictionary<string, string[]> AssertOnlyError(TrainingConfig config, string field)
    {
        var errors = Validator.Validate(config);
        Assert.Equal([field], errors.Keys);
        Assert.All(errors[field], message => Assert.False(string.IsNullOrWhiteSpace(message)));
        return errors;
    }
}
