using System.Diagnostics;
using System.Globalization;
using System.Text;
using Dashboard.Engine.Export;
using Dashboard.Engine.Models;
using Dashboard.UnitTests.Support;

namespace Dashboard.UnitTests.Export;

/// <summary>
/// What an imported bundle may cost: its model is sized from the spec and its weights' shapes checked from the header
/// before anything is built; entries go through temporary files, not memory, and none is left behind.
/// </summary>
[Collection(MemoryMeasuringCollection.Name)]
public sealed class ImportSizeTests : IDisposable
{
    private const long MiB = 1024 * 1024;

    private readonly TempDirectory _spool = new();

    public void Dispose() => _spool.Dispose();

    [Fact]
    public void Read_OneKilobyteBundleDeclaringSeventeenGigabytes_IsRejectedWithinASecond()
    {
        var spec = """{"architecture":"cnn","inputShape":[1,2048,2048],"classCount":10,"channels":[64]}""";
        var bundle = TestZip.Of(("model-spec.json", Encoding.UTF8.GetBytes(spec)), ("model.safetensors", Safetensors.Write([new NamedTensor("x", [1], [0f])])));
        Assert.True(bundle.Length < 1024, $"The bundle has {bundle.Length} bytes.");

        var clock = Stopwatch.StartNew();
        var error = Assert.Throws<BundleRejectedException>(() => Importer().Read(new MemoryStream(bundle)));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"Rejecting took {clock.Elapsed}.");
        Assert.Contains("4,294,968,650 parameters", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_HeaderShapesNotThoseOfTheSpec_IsRejectedBeforeTheModelIsBuilt()
    {
        // 75 million parameters (300 MB): within the cap, so only the header check stands between it and being built.
        var spec = ParseSpec("""{"architecture":"mlp","inputShape":[2],"classCount":2,"hiddenSizes":[8192,8192,1024]}""");
        Assert.Null(ModelRegistry.Problem(spec));
        var names = ModelRegistry.ParameterShapes(spec)!.Select(p => p.Name);
        var bundle = Bundle(spec, Safetensors.Write([.. names.Select(n => new NamedTensor(n, [1], [0f]))]));

        ResetPeakResident();
        var before = PeakResident();
        var error = Assert.Throws<BundleRejectedException>(() => Importer().Read(new MemoryStream(bundle)));
        var growth = PeakResident() - before;

        Assert.Contains("layers.fc1.weight", error.Message, StringComparison.Ordinal);
        Assert.True(growth < 64 * MiB, $"The peak resident size grew by {growth / MiB} MiB while refusing the bundle.");
    }

    [Fact]
    public void Read_TensorLongerThanOneLoadSlice_ImportsEveryValueExactly()
    {
        // fc1 holds 784 × 2048 = 1.6 million floats: more than one 1-million-float slice, the second one short.
        var spec = ParseSpec("""{"architecture":"mlp","inputShape":[1,28,28],"classCount":10,"hiddenSizes":[2048]}""");
        var random = new Random(7);
        var tensors = ModelRegistry.ParameterShapes(spec)!
            .Select(p => new NamedTensor(p.Name, p.Shape, [.. Enumerable.Range(0, (int)p.ElementCount).Select(_ => (float)random.NextDouble())]))
            .ToList();

        var imported = Importer().Read(new MemoryStream(Bundle(spec, Safetensors.Write(tensors))));

        using var model = TestEngine.Models.Build(imported.ModelSpec);
        using (var reader = new BinaryReader(new MemoryStream(imported.Weights)))
        {
            model.load(reader);
        }

        foreach (var (name, parameter) in model.named_parameters())
        {
            Assert.Equal(tensors.Single(t => t.Name == name).Data, parameter.detach().contiguous().data<float>().ToArray());
        }
    }

    [Fact]
    public void Read_ConfigLargerThanTheSmallFileCap_IsRejectedWhileInflating()
    {
        var spec = ParseSpec("""{"architecture":"mlp","inputShape":[2],"classCount":2}""");
        var config = new byte[BundleImporter.MaxSmallFileBytes + 1];
        Array.Fill(config, (byte)' ');

        var error = Assert.Throws<BundleRejectedException>(() => Importer().Read(new MemoryStream(TestZip.Of(("config.json", config), ("model-spec.json", SpecJson(spec))))));

        Assert.Contains($"'config.json' is larger than {BundleImporter.MaxSmallFileBytes:N0} bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_AcceptedOrRejected_LeavesNoFileInTheSpoolFolder()
    {
        var spec = ParseSpec("""{"architecture":"mlp","inputShape":[2],"classCount":2,"hiddenSizes":[4]}""");
        var tensors = ModelRegistry.ParameterShapes(spec)!.Select(p => new NamedTensor(p.Name, p.Shape, new float[p.ElementCount])).ToList();

        Importer().Read(new MemoryStream(Bundle(spec, Safetensors.Write(tensors))));
        Assert.Throws<BundleRejectedException>(() => Importer().Read(new MemoryStream(Bundle(spec, Safetensors.Write([tensors[0]])))));

        Assert.Empty(Directory.GetFileSystemEntries(_spool.Path));
    }

    private BundleImporter Importer() => new(TestEngine.Models, spoolFolder: _spool.Path);

    private static ModelSpec ParseSpec(string json) =>
        System.Text.Json.JsonSerializer.Deserialize<ModelSpec>(json, Dashboard.Engine.Checkpoints.CheckpointStore.JsonOptions)!;

    private static byte[] SpecJson(ModelSpec spec) =>
        System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(spec, Dashboard.Engine.Checkpoints.CheckpointStore.JsonOptions);

    private static byte[] Bundle(ModelSpec spec, byte[] safetensors) => TestZip.Of(("model-spec.json", SpecJson(spec)), ("model.safetensors", safetensors));


    /// <summary>Linux: writing 5 to clear_refs resets the peak resident size (VmHWM) to the current one.</summary>
    private static void ResetPeakResident() => File.WriteAllText("/proc/self/clear_refs", "5");

    private static long PeakResident()
    {
        var line = File.ReadLines("/proc/self/status").Single(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }
}
