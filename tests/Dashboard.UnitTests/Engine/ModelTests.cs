using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using Dashboard.Plugins;
using Dashboard.UnitTests.Support;
using static TorchSharp.torch;

namespace Dashboard.UnitTests.Engine;

public sealed class ModelTests
{
    private static DatasetInfo Mnist => TestEngine.Datasets.Get(MnistDataset.DatasetName).Info;

    private static DatasetInfo Spirals => TestEngine.Datasets.Get(SpiralsDataset.DatasetName).Info;

    [Fact]
    public void Mlp_DefaultSpecForMnist_HasPyTorchParameterNames()
    {
        using var model = Build("mlp", Mnist);

        Assert.Equal(
            ["layers.fc1.weight", "layers.fc1.bias", "layers.fc2.weight", "layers.fc2.bias", "layers.head.weight", "layers.head.bias"],
            model.named_parameters().Select(p => p.name));
        Assert.Equal([128L, 784], model.named_parameters().First().parameter.shape);
    }

    [Fact]
    public void Cnn_DefaultSpecForMnist_HasPyTorchParameterNames()
    {
        using var model = Build("cnn", Mnist);

        Assert.Equal(
            [
                "features.conv1.weight", "features.conv1.bias", "features.conv2.weight", "features.conv2.bias",
                "classifier.fc1.weight", "classifier.fc1.bias", "classifier.head.weight", "classifier.head.bias",
            ],
            model.named_parameters().Select(p => p.name));
        Assert.Equal([16L, 1, 3, 3], model.named_parameters().First().parameter.shape);
    }

    [Theory]
    [InlineData("mlp", MnistDataset.DatasetName, 5)]
    [InlineData("cnn", MnistDataset.DatasetName, 3)]
    [InlineData("mlp", SpiralsDataset.DatasetName, 7)]
    public void Forward_Batch_ReturnsOneLogitPerClass(string architecture, string dataset, int batch)
    {
        var info = TestEngine.Datasets.Get(dataset).Info;
        using var model = Build(architecture, info);
        using var input = zeros([batch, .. info.SampleShape.Select(d => (long)d)]);

        using var output = model.forward(input);

        Assert.Equal([batch, info.ClassCount], output.shape);
    }

    [Fact]
    public void Build_UnknownArchitecture_ThrowsKeyNotFound()
    {
        var spec = new ModelSpec { Architecture = "transformer", InputShape = [2], ClassCount = 2 };

        var error = Assert.Throws<KeyNotFoundException>(() => TestEngine.Models.Build(spec));

        Assert.Contains("transformer", error.Message);
    }

    [Theory]
    [InlineData("transformer", false)]
    [InlineData(null, false)]
    [InlineData("MLP", true)]
    [InlineData("cnn", true)]
    public void TryGet_Name_FindsOnlyRegisteredArchitecturesIgnoringCase(string? name, bool found)
    {
        Assert.Equal(found, TestEngine.Models.TryGet(name, out _));
    }

    [Fact]
    public void Incompatibility_CnnOnSpirals_ExplainsImageRequirement()
    {
        Assert.True(TestEngine.Models.TryGet("cnn", out var cnn));

        Assert.Equal("The CNN needs images whose sides divide by 4; 'spirals' has samples shaped [2].", cnn.Incompatibility(Spirals));
        Assert.Null(cnn.Incompatibility(Mnist));
    }

    [Fact]
    public void Incompatibility_MlpOnAnyDataset_IsNone()
    {
        Assert.True(TestEngine.Models.TryGet("mlp", out var mlp));

        Assert.Null(mlp.Incompatibility(Spirals));
        Assert.Null(mlp.Incompatibility(Mnist));
    }

    [Fact]
    public void Cnn_FlatInputShape_ThrowsArgumentException()
    {
        var spec = new ModelSpec { Architecture = "cnn", InputShape = [2], ClassCount = 2, Channels = [16, 32] };

        Assert.Throws<ArgumentException>(() => new Cnn(spec));
    }

    [Fact]
    public void Constructor_DuplicateName_ThrowsArgumentException()
    {
        var mlp = TestEngine.Models.All.First(a => a.Name == "mlp");

        Assert.Throws<ArgumentException>(() => new ModelRegistry([mlp, mlp with { Name = "MLP" }]));
    }

    private static nn.Module<Tensor, Tensor> Build(string architecture, DatasetInfo dataset)
    {
        Assert.True(TestEngine.Models.TryGet(architecture, out var found));
        return TestEngine.Models.Build(found.DefaultSpec(dataset));
    }
}
