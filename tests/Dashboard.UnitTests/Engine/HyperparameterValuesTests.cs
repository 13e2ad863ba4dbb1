using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using Dashboard.Plugins;
using Dashboard.UnitTests.Support;
using static TorchSharp.torch;

namespace Dashboard.UnitTests.Engine;

public sealed class HyperparameterValuesTests
{
    private static readonly IReadOnlyList<Hyperparameter> Schema =
    [
        Hyperparameter.Int("width", 8, 1, 64),
        Hyperparameter.Float("scale", 0.5, 0, 1),
        Hyperparameter.Bool("bias", true),
        Hyperparameter.Choice("depth", 2, [1, 2, 3]),
    ];

    [Theory]
    [InlineData("width", 65, "between")]
    [InlineData("width", 0, "between")]
    [InlineData("width", 2.5, "whole number")]
    [InlineData("scale", 1.5, "between")]
    [InlineData("scale", double.NaN, "finite")]
    [InlineData("bias", 2, "true or false")]
    [InlineData("depth", 4, "one of")]
    [InlineData("height", 4, "Unknown hyperparameter 'height'")]
    public void Problems_BadValue_NamesTheField(string name, double value, string expected)
    {
        var (field, message) = Assert.Single(HyperparameterValues.Problems(Schema, new Dictionary<string, double> { [name] = value }));

        Assert.Equal($"hyperparameters.{name}", field);
        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Fact]
    public void Problems_ValuesAtTheBounds_None()
    {
        var values = new Dictionary<string, double> { ["width"] = 64, ["scale"] = 0, ["bias"] = 0, ["depth"] = 3 };

        Assert.Empty(HyperparameterValues.Problems(Schema, values));
    }

    [Fact]
    public void Fill_SomeGiven_TakesDefaultsForTheRest()
    {
        var filled = HyperparameterValues.Fill(Schema, new Dictionary<string, double> { ["width"] = 32 });

        Assert.Equal(new Dictionary<string, double> { ["bias"] = 1, ["depth"] = 2, ["scale"] = 0.5, ["width"] = 32 }, filled);
    }

    [Fact]
    public void Validate_PluginModelWithBadAndGoodValues_ReportsOnlyTheBadFieldAndBuildsTheGood()
    {
        var models = ModelRegistry.CreateDefault();
        var identity = new PluginIdentity("test", "1.0", "ab");
        Assert.True(models.TryAdd(ModelArchitecture.FromPlugin(
            new PluginModel("dense", "Dense", "One linear layer of a given width.", [Hyperparameter.Int("width", 4, 1, 100_000)],
                context => nn.Sequential(nn.Flatten(), nn.Linear(context.InputShape.Aggregate(1, (a, b) => a * b), context.Int("width")), nn.Linear(context.Int("width"), context.OutputCount))),
            identity)));
        var validator = new TrainingConfigValidator(TestEngine.Datasets, models);
        var config = new TrainingConfig { Dataset = SpiralsDataset.DatasetName, Model = "dense", BatchSize = 8 };

        var bad = validator.Validate(config with { Hyperparameters = new Dictionary<string, double> { ["width"] = 0 } });
        var good = validator.Validate(config with { Hyperparameters = new Dictionary<string, double> { ["width"] = 32 } });
        Assert.True(models.TryGet("dense", out var dense));
        var spec = dense.SpecFor(TestEngine.Datasets.Get(SpiralsDataset.DatasetName).Info, new Dictionary<string, double> { ["width"] = 32 });

        Assert.Equal(["hyperparameters.width"], bad.Keys);
        Assert.Empty(good);
        Assert.Equal(identity, spec.Plugin);
        Assert.Equal(32, spec.Hyperparameters["width"]);
        Assert.Equal((2 * 32) + 32 + (32 * 2) + 2, ModelRegistry.ParameterCount(models.Shapes(spec)));
    }

    [Fact]
    public void Equals_SpecsDifferingOnlyInHyperparameters_AreNotEqual()
    {
        var spec = new ModelSpec { Architecture = "dense", InputShape = [2], ClassCount = 2, Hyperparameters = new Dictionary<string, double> { ["width"] = 4 } };

        Assert.NotEqual(spec, spec with { Hyperparameters = new Dictionary<string, double> { ["width"] = 5 } });
        Assert.Equal(spec, spec with { Hyperparameters = new Dictionary<string, double> { ["width"] = 4 } });
        Assert.NotEqual(spec, spec with { Plugin = new PluginIdentity("p", "1", "00") });
    }
}
