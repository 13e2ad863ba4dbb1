using Dashboard.Engine.Training;
using Dashboard.Plugins;
using Dashboard.UnitTests.Support;
using static TorchSharp.torch;

namespace Dashboard.UnitTests.Engine.Images;

/// <summary>ResNet-18 and MobileNet v2: TorchVision's names, grey input, and batch-norm statistics that travel with the weights.</summary>
public sealed class TorchVisionModelTests
{
    private static readonly DatasetInfo GreyImages = new("shapes", "shapes", "", [1, 32, 32], 3, 10, Kind: DatasetKinds.Images);

    [Theory]
    [InlineData("resnet18", "conv1.weight", "fc.weight")]
    [InlineData("mobilenet_v2", "features.0.0.weight", "classifier.1.weight")]
    public void Build_GreyImages_HasTorchVisionNamesAndOneLogitPerClass(string architecture, string first, string head)
    {
        Assert.True(TestEngine.Models.TryGet(architecture, out var model));
        Assert.Null(model.Incompatibility(GreyImages));
        using var network = TestEngine.Models.Build(model.DefaultSpec(GreyImages));
        network.eval();

        using var output = network.forward(Noise(2, 1, 32, 32));

        Assert.Equal([2L, 3], output.shape);
        var names = network.named_parameters().Select(p => p.name).ToList();
        Assert.Contains(first, names);
        Assert.Contains(head, names);
    }

    [Theory]
    [InlineData("resnet18")]
    [InlineData("mobilenet_v2")]
    public void Incompatibility_TablesAndSmallImages_SaysWhy(string architecture)
    {
        Assert.True(TestEngine.Models.TryGet(architecture, out var model));

        Assert.Contains("need images", model.Incompatibility(new DatasetInfo("t", "t", "", [5], 2, 10)), StringComparison.Ordinal);
        Assert.Contains("at least 32", model.Incompatibility(GreyImages with { SampleShape = [1, 16, 16] }), StringComparison.Ordinal);
    }

    [Fact]
    public void SerializeWeights_ResNetAfterATrainingStep_CarriesTheBatchNormStatistics()
    {
        Assert.True(TestEngine.Models.TryGet("resnet18", out var model));
        var spec = model.DefaultSpec(GreyImages);
        using var trained = TestEngine.Models.Build(spec, seed: 1);
        trained.train();
        using (no_grad())
        {
            using var _ = trained.forward(Noise(4, 1, 32, 32));
        }

        using var copy = TestEngine.Models.Build(spec, seed: 2);
        using (var reader = new BinaryReader(new MemoryStream(Trainer.SerializeWeights(trained))))
        {
            copy.load(reader);
        }

        var state = trained.state_dict();
        Assert.True(state.ContainsKey("bn1.running_mean"));
        Assert.NotEqual(0f, state["bn1.running_mean"].abs().sum().item<float>());
        foreach (var (name, tensor) in copy.state_dict())
        {
            Assert.True(tensor.allclose(state[name], rtol: 0, atol: 0), name);
        }

        trained.eval();
        copy.eval();
        using var input = Noise(2, 1, 32, 32);
        Assert.True(trained.forward(input).allclose(copy.forward(input), rtol: 0, atol: 0));
    }

    [Fact]
    public void Forward_TrainingBatchOfOne_KeepsTheRunningStatisticsFiniteAndStaysInTraining()
    {
        Assert.True(TestEngine.Models.TryGet("resnet18", out var model));
        using var network = TestEngine.Models.Build(model.DefaultSpec(GreyImages), seed: 3);
        network.train();

        using var loss = network.forward(Noise(1, 1, 32, 32)).sum();
        loss.backward();

        Assert.True(network.training);
        foreach (var (name, buffer) in network.named_buffers())
        {
            Assert.True(buffer.isfinite().all().item<bool>(), name);
        }

        Assert.NotNull(network.named_parameters().First().parameter.grad);
    }

    /// <summary>
    /// Inputs from a generator of their own: drawing from torch's process-wide one here would shift the initial weights of
    /// a run another test class seeds at the same moment (the unit tests run in parallel).
    /// </summary>
    private static Tensor Noise(params long[] shape)
    {
        using var generator = new Generator(17);
        return rand(shape, generator: generator);
    }
}
