using System.Runtime.InteropServices;
using System.Text;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Models;
using Dashboard.Engine.Weights;
using Dashboard.TestSupport;

namespace Dashboard.UnitTests.Engine;

/// <summary>
/// Reading weights files (a real torch.save state_dict made by PyTorch, a hand-built safetensors file), refusing unsafe
/// pickles, the strict=False match report, and the bitwise copy into a seeded model.
/// </summary>
public sealed class WeightsTests
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Weights");

    private static readonly ModelSpec SpiralsMlp = new() { Architecture = "mlp", InputShape = [2], ClassCount = 2, HiddenSizes = [64, 64] };

    [Fact]
    public void Read_TorchSaveStateDict_EveryTensorWithTheBytesPyTorchWrote()
    {
        using var file = File.OpenRead(Path.Combine(Fixtures, "state_dict.pt"));

        var contents = WeightsReader.Read(file, 1 << 20);

        Assert.Equal(WeightsFormats.PyTorch, contents.Format);
        Assert.Equal(
            ["extra.bias", "extra.weight", "layers.fc1.bias", "layers.fc1.weight", "layers.fc2.bias", "layers.fc2.weight", "layers.head.bias", "layers.head.weight"],
            contents.Tensors.Select(t => t.Name));
        var fc1 = contents.Tensors.Single(t => t.Name == "layers.fc1.weight");
        Assert.Equal([64L, 2], fc1.Shape);
        Assert.Equal(File.ReadAllBytes(Path.Combine(Fixtures, "fc1_weight.f32")), MemoryMarshal.AsBytes(fc1.Data.AsSpan()).ToArray());
    }

    [Fact]
    public void Read_PickleCallingOsSystem_RefusedNamingTheGlobal()
    {
        using var file = File.OpenRead(Path.Combine(Fixtures, "malicious.pt"));

        var error = Assert.Throws<InvalidDataException>(() => WeightsReader.Read(file, 1 << 20));

        // Refused by our allow-list before unpickling, not by whatever the unpickler happens to do with the call.
        Assert.IsType<UnsafePickleException>(error.InnerException);
        Assert.Contains("'posix.system'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\u0080\u0004\u008c\u000bcollections\u0094\u008c\u000bOrderedDict\u0094\u0093)R.", null)]
    [InlineData("\u0080\u0004\u008c\u0002os\u0094\u008c\u0006system\u0094\u0093.", "os.system")]
    [InlineData("\u0080\u0004\u008c\u000bcollections\u0094\u008c\u000bOrderedDict\u0094\u00930h\u0000h\u0001\u0093.", null)]
    [InlineData("\u0080\u0004\u008c\u0002os\u0094\u008c\u0006system\u0094h\u0000h\u0001\u0093.", "os.system")]
    [InlineData("\u0080\u0002cbuiltins\neval\n.", "builtins.eval")]
    [InlineData("\u0080\u0002(X\u0002\u0000\u0000\u0000lsios\nsystem\n.", "0x69")]
    [InlineData("\u0080\u0002ccollections\nOrderedDict\n", "STOP")]
    public void Check_Globals_OnlyStateDictNamesPass(string pickle, string? refusedFor)
    {
        var bytes = Encoding.Latin1.GetBytes(pickle);

        var error = Record.Exception(() => PickleGuard.Check(bytes));

        if (refusedFor is null)
        {
            Assert.Null(error);
        }
        else
        {
            Assert.IsType<UnsafePickleException>(error);
            Assert.Contains(refusedFor, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Read_HandBuiltSafetensors_NamesShapesAndValues()
    {
        var file = HandWrittenSafetensors.Write(("b", [2], [1.5f, -2f]), ("a", [1, 2], [3f, 4f]));

        var contents = WeightsReader.Read(new MemoryStream(file), 1 << 20);

        Assert.Equal(WeightsFormats.Safetensors, contents.Format);
        Assert.Equal(["a", "b"], contents.Tensors.Select(t => t.Name));
        Assert.Equal([1.5f, -2f], contents.Tensors[1].Data);
    }

    [Fact]
    public void Read_SafetensorsWithIntegerTensor_RefusedNamingTheTensor()
    {
        var header = """{"steps":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}""";
        var file = HandWrittenSafetensors.WithHeader(header, new byte[8]);

        var error = Assert.Throws<InvalidDataException>(() => WeightsReader.Read(new MemoryStream(file), 1 << 20));

        Assert.Contains("'steps'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_StateDictAgainstSpiralsMlp_ReportsAsLoadStateDictNonStrict()
    {
        using var file = File.OpenRead(Path.Combine(Fixtures, "state_dict.pt"));
        var contents = WeightsReader.Read(file, 1 << 20);

        var match = WeightsMatcher.Match(Mlp.ParameterShapes(SpiralsMlp), contents.Tensors.Select(t => (t.Name, t.Shape)));

        Assert.Equal(["layers.fc1.weight", "layers.fc1.bias", "layers.fc2.weight", "layers.fc2.bias"], match.Matched);
        Assert.Empty(match.Missing);
        Assert.Equal(["extra.bias", "extra.weight"], match.Unexpected);
        Assert.Equal(["layers.head.weight", "layers.head.bias"], match.ShapeMismatches.Select(m => m.Name));
        Assert.Equal([2L, 64], match.ShapeMismatches[0].Expected);
        Assert.Equal([5L, 64], match.ShapeMismatches[0].Actual);
    }

    [Fact]
    public void CopyMatched_SeededModel_MatchedTensorsBitwiseAndTheRestAsSeeded()
    {
        using var file = File.OpenRead(Path.Combine(Fixtures, "state_dict.pt"));
        var contents = WeightsReader.Read(file, 1 << 20);
        var models = ModelRegistry.CreateDefault();
        using var seeded = models.Build(SpiralsMlp, 7);
        using var model = models.Build(SpiralsMlp, 7);

        var copied = WeightsMatcher.CopyMatched(model, contents.Tensors);

        Assert.Equal(4, copied);
        var weights = model.state_dict();
        var fresh = seeded.state_dict();
        foreach (var tensor in contents.Tensors.Where(t => t.Name.StartsWith("layers.fc", StringComparison.Ordinal)))
        {
            Assert.Equal(tensor.Data, weights[tensor.Name].data<float>().ToArray());
        }

        // The head, whose shape differs, starts exactly as a run from scratch with the same seed would.
        Assert.Equal(fresh["layers.head.weight"].data<float>().ToArray(), weights["layers.head.weight"].data<float>().ToArray());
        Assert.NotEqual(fresh["layers.fc1.weight"].data<float>().ToArray(), weights["layers.fc1.weight"].data<float>().ToArray());
    }

    [Fact]
    public void FreezeProblem_EntryCoveringNothing_NamesIt()
    {
        var names = Mlp.ParameterShapes(SpiralsMlp).Select(s => s.Name).ToList();

        Assert.Null(FineTuneSettings.FreezeProblem(["layers.fc1"], names));
        Assert.Contains("'layers.fc9'", FineTuneSettings.FreezeProblem(["layers.fc9"], names), StringComparison.Ordinal);
        Assert.Contains("nothing to train", FineTuneSettings.FreezeProblem(["layers"], names), StringComparison.Ordinal);
    }
}
