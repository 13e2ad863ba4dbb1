using Dashboard.Engine.Models;
using Dashboard.UnitTests.Support;

namespace Dashboard.UnitTests.Engine;

/// <summary>The size of a spec is known exactly, per architecture, before anything is built.</summary>
public sealed class ModelSizeTests
{
    public static TheoryData<string> Specs { get; } = new()
    {
        """{"architecture":"mlp","inputShape":[2],"classCount":2}""",
        """{"architecture":"mlp","inputShape":[1,28,28],"classCount":10,"hiddenSizes":[128,64]}""",
        """{"architecture":"mlp","inputShape":[3],"classCount":4,"hiddenSizes":[5,7,9]}""",
        """{"architecture":"cnn","inputShape":[1,28,28],"classCount":10,"channels":[16,32]}""",
        """{"architecture":"cnn","inputShape":[3,17,13],"classCount":5,"channels":[4]}""",
        """{"architecture":"cnn","inputShape":[2,32,32],"classCount":2,"channels":[8,3,5]}""",
        """{"architecture":"cnn","inputShape":[1,8,8],"classCount":3,"channels":[]}""",
        """{"architecture":"resnet18","inputShape":[1,32,32],"classCount":3}""",
        """{"architecture":"mobilenet_v2","inputShape":[3,40,40],"classCount":7}""",
    };

    [Theory]
    [MemberData(nameof(Specs))]
    public void ParameterShapes_Spec_EqualTheBuiltModelsParametersByNameShapeAndCount(string json)
    {
        var spec = Parse(json);
        using var model = TestEngine.Models.Build(spec);

        var shapes = ModelRegistry.ParameterShapes(spec)!;

        Assert.Equal(
            model.named_parameters().Select(p => (p.name, string.Join(",", p.parameter.shape))),
            shapes.Select(s => (s.Name, string.Join(",", s.Shape))));
        Assert.Equal(model.parameters().Sum(p => p.numel()), ModelRegistry.ParameterCount(shapes));
        Assert.Null(ModelRegistry.Problem(spec));
    }

    [Fact]
    public void Problem_Cnn64ChannelsOn2048Square_RefusedWithItsExactParameterCount()
    {
        // conv1 64·1·9+64, fc1 64·(64·1024·1024)+64, head 64·10+10: 17 GB of float32 from a spec of a few bytes.
        var spec = Parse("""{"architecture":"cnn","inputShape":[1,2048,2048],"classCount":10,"channels":[64]}""");

        var problem = ModelRegistry.Problem(spec);

        Assert.NotNull(problem);
        Assert.Contains("4,294,968,650 parameters", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Problem_CnnHalvingTheImageToNothing_IsRefused()
    {
        var spec = Parse("""{"architecture":"cnn","inputShape":[1,4,4],"classCount":2,"channels":[8,8,8]}""");

        Assert.Contains("cannot be halved 3 times", ModelRegistry.Problem(spec), StringComparison.Ordinal);
    }

    [Fact]
    public void Problem_UnknownArchitecture_IsRefusedRatherThanLeftUncounted()
    {
        var spec = new ModelSpec { Architecture = "transformer", InputShape = [2], ClassCount = 2 };

        Assert.Contains("cannot be checked", ModelRegistry.Problem(spec), StringComparison.Ordinal);
    }

    private static ModelSpec Parse(string json) =>
        System.Text.Json.JsonSerializer.Deserialize<ModelSpec>(json, Dashboard.Engine.Checkpoints.CheckpointStore.JsonOptions)!;
}
