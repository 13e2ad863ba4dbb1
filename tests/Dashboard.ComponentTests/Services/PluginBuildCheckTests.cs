using Dashboard.Engine.Models;
using Dashboard.Engine.Training;
using Dashboard.Plugins;
using Dashboard.Runs.Checkpoints;
using static TorchSharp.torch;

namespace Dashboard.ComponentTests.Services;

public sealed class PluginBuildCheckTests
{
    private static readonly PluginIdentity Trained = new("Waves", "1.0.0", "aa11");

    [Fact]
    public void Problem_SameBuildLoaded_None()
    {
        Assert.Null(PluginBuildCheck.Problem(Spec(), Registry(Trained)));
    }

    [Fact]
    public void Problem_OtherBuildLoaded_NamesBothVersionsAndHashes()
    {
        var problem = PluginBuildCheck.Problem(Spec(), Registry(new PluginIdentity("Waves", "1.1.0", "bb22")));

        Assert.NotNull(problem);
        Assert.Contains("Waves 1.0.0 (sha256 aa11)", problem, StringComparison.Ordinal);
        Assert.Contains("Waves 1.1.0 (sha256 bb22)", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Problem_OtherBuildWhoseParametersStillMatch_NoneAndTheDifferenceIsForTheLog()
    {
        var other = Registry(new PluginIdentity("Waves", "1.1.0", "bb22"));

        Assert.Null(PluginBuildCheck.Problem(Spec(), other, TrainedWeights()));
        var difference = PluginBuildCheck.Difference(Spec(), other);
        Assert.NotNull(difference);
        Assert.Contains("Waves 1.0.0 (sha256 aa11)", difference, StringComparison.Ordinal);
        Assert.Contains("Waves 1.1.0 (sha256 bb22)", difference, StringComparison.Ordinal);
        Assert.Null(PluginBuildCheck.Difference(Spec(), Registry(Trained)));
    }

    [Fact]
    public void Problem_OtherBuildWithAnotherHeadShape_RefusedNamingBothBuilds()
    {
        // The new build makes three outputs where the checkpoint's weights hold two.
        var problem = PluginBuildCheck.Problem(Spec(), Registry(new PluginIdentity("Waves", "2.0.0", "cc33"), outputs: 3), TrainedWeights());

        Assert.NotNull(problem);
        Assert.Contains("no longer match", problem, StringComparison.Ordinal);
        Assert.Contains("Waves 1.0.0 (sha256 aa11)", problem, StringComparison.Ordinal);
        Assert.Contains("Waves 2.0.0 (sha256 cc33)", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Problem_PluginNotLoaded_SaysWhichAndWhere()
    {
        var problem = PluginBuildCheck.Problem(Spec(), ModelRegistry.CreateDefault());

        Assert.Contains("not loaded", problem, StringComparison.Ordinal);
        Assert.Contains("Training:Plugins", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Problem_BuiltInModel_None()
    {
        Assert.Null(PluginBuildCheck.Problem(new ModelSpec { Architecture = "mlp", InputShape = [2], ClassCount = 2, HiddenSizes = [4] }, ModelRegistry.CreateDefault()));
    }

    private static ModelSpec Spec() => new() { Architecture = "wave-conv", InputShape = [1, 8], ClassCount = 2, Plugin = Trained };

    private static ModelRegistry Registry(PluginIdentity loaded, int outputs = 2)
    {
        var registry = ModelRegistry.CreateDefault();
        Assert.True(registry.TryAdd(ModelArchitecture.FromPlugin(new PluginModel("wave-conv", "1-D conv", "", [], _ => nn.Linear(8, outputs)), loaded)));
        return registry;
    }

    /// <summary>Weights as the trainer saves them, from the build the checkpoint was trained with.</summary>
    private static byte[] TrainedWeights()
    {
        using var model = Registry(Trained).Build(Spec());
        return Trainer.SerializeWeights(model);
    }
}
