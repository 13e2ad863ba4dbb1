using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Export;
using Dashboard.UnitTests.Support;

namespace Dashboard.UnitTests.Export;

public sealed class ExportImportTests : IDisposable
{
    private readonly TempDirectory _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task ToSafetensors_TrainedModel_HeaderAndEveryTensorMatchTheModelByteForByte()
    {
        var checkpoint = await TrainedCheckpointAsync();

        var file = new CheckpointExporter(TestEngine.Models).ToSafetensors(checkpoint);

        // Parsed here by hand, not with the Safetensors reader under test.
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.Equal(0, headerLength % 8);
        using var header = JsonDocument.Parse(file.AsMemory(8, headerLength));
        var data = file.AsSpan(8 + headerLength);
        using var model = TestEngine.Models.Build(checkpoint.Manifest.ModelSpec);
        using (var reader = new BinaryReader(new MemoryStream(checkpoint.Weights)))
        {
            model.load(reader);
        }

        var parameters = model.named_parameters().ToList();
        Assert.Equal(parameters.Select(p => p.name).Append("__metadata__").Order(), header.RootElement.EnumerateObject().Select(p => p.Name).Order());
        foreach (var (name, parameter) in parameters)
        {
            var entry = header.RootElement.GetProperty(name);
            Assert.Equal("F32", entry.GetProperty("dtype").GetString());
            Assert.Equal(parameter.shape, entry.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
            var offsets = entry.GetProperty("data_offsets").EnumerateArray().Select(o => o.GetInt32()).ToArray();
            var expected = parameter.detach().contiguous().data<float>().ToArray();
            var bytes = data[offsets[0]..offsets[1]].ToArray();
            Assert.Equal(expected.Length * sizeof(float), bytes.Length);
            Assert.Equal(expected, Enumerable.Range(0, expected.Length).Select(i => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4))));
        }

        Assert.Contains("mlp", header.RootElement.GetProperty("__metadata__").GetProperty("model_spec").GetString());
    }

    [Fact]
    public async Task Read_ExportedBundle_RebuildsTheSameWeights()
    {
        var checkpoint = await TrainedCheckpointAsync();
        var bundle = new CheckpointExporter(TestEngine.Models).ToBundle(checkpoint, new ExportContext(1, "run", 2, []));

        var imported = new BundleImporter(TestEngine.Models).Read(new MemoryStream(bundle));

        Assert.Equal(checkpoint.Manifest.ModelSpec, imported.ModelSpec);
        Assert.Equal(Parameters(checkpoint.Weights, imported), Parameters(imported.Weights, imported));
        Assert.Equal(checkpoint.Manifest.Config.Dataset, imported.Config.Dataset);
    }

    [Theory]
    [InlineData("../evil.txt")]
    [InlineData("/etc/passwd")]
    [InlineData("nested/model.safetensors")]
    [InlineData("notes.txt")]
    public void Read_EntryWithAPathOrUnknownName_IsRejectedByName(string entryName)
    {
        var error = Assert.Throws<BundleRejectedException>(() => Import(TestZip.Of((entryName, [1, 2, 3]))));

        Assert.Contains(entryName, error.Message);
    }

    [Fact]
    public void Read_NotAZip_IsRejected()
    {
        var error = Assert.Throws<BundleRejectedException>(() => Import(Encoding.UTF8.GetBytes("this is not a zip")));

        Assert.Contains("not a zip", error.Message);
    }

    [Fact]
    public async Task Read_TruncatedBundle_IsRejected()
    {
        var bundle = new CheckpointExporter(TestEngine.Models).ToBundle(await TrainedCheckpointAsync(), new ExportContext(1, "run", 2, []));

        Assert.Throws<BundleRejectedException>(() => Import(bundle[..(bundle.Length / 2)]));
    }

    [Fact]
    public void Read_EntryDecompressingPastTheCap_IsRejectedBeforeItIsAllRead()
    {
        var zeros = new byte[4 << 20];
        var importer = new BundleImporter(TestEngine.Models, maxUncompressedBytes: 1 << 20);

        var error = Assert.Throws<BundleRejectedException>(() => importer.Read(new MemoryStream(TestZip.Of(("model.safetensors", zeros)))));

        Assert.Contains("decompresses to more than", error.Message);
    }

    [Fact]
    public async Task Read_TensorShapeNotMatchingItsBytes_IsRejected()
    {
        var checkpoint = await TrainedCheckpointAsync();
        var tensors = new CheckpointExporter(TestEngine.Models).Tensors(checkpoint).ToList();
        tensors[0] = tensors[0] with { Shape = [.. tensors[0].Shape.Select(d => d + 1)] };

        var error = Assert.Throws<BundleRejectedException>(() => Import(TestZip.Of(
            ("model-spec.json", JsonSerializer.SerializeToUtf8Bytes(checkpoint.Manifest.ModelSpec, new JsonSerializerOptions(JsonSerializerDefaults.Web))),
            ("model.safetensors", ForgedSafetensors(tensors)))));

        Assert.Contains(tensors[0].Name, error.Message);
    }

    [Fact]
    public async Task Read_SumsNotMatching_IsRejected()
    {
        var checkpoint = await TrainedCheckpointAsync();
        var spec = JsonSerializer.SerializeToUtf8Bytes(checkpoint.Manifest.ModelSpec, new JsonSerializerOptions(JsonSerializerDefaults.Web));

        var error = Assert.Throws<BundleRejectedException>(() => Import(TestZip.Of(
            ("model-spec.json", spec),
            ("SHA256SUMS", Encoding.UTF8.GetBytes($"{new string('0', 64)}  model-spec.json\n")))));

        Assert.Contains("SHA-256", error.Message);
    }

    [Fact]
    public void Read_SpecAskingForAHugeModel_IsRejectedBeforeBuildingIt()
    {
        var spec = """{"architecture":"mlp","inputShape":[1,28,28],"classCount":10,"hiddenSizes":[8192,8192,8192,8192,8192]}""";

        var error = Assert.Throws<BundleRejectedException>(() => Import(TestZip.Of(("model-spec.json", Encoding.UTF8.GetBytes(spec)))));

        Assert.Contains("parameters", error.Message);
    }

    private static ImportedBundle Import(byte[] zip) => new BundleImporter(TestEngine.Models).Read(new MemoryStream(zip));


    /// <summary>A safetensors file whose header claims the given shapes while the data keeps the true sizes.</summary>
    private static byte[] ForgedSafetensors(IReadOnlyList<NamedTensor> tensors)
    {
        var header = new Dictionary<string, object>();
        long offset = 0;
        foreach (var t in tensors)
        {
            header[t.Name] = new { dtype = "F32", shape = t.Shape, data_offsets = new[] { offset, offset + (t.Data.Length * 4L) } };
            offset += t.Data.Length * 4L;
        }

        var json = JsonSerializer.SerializeToUtf8Bytes(header);
        var file = new byte[8 + json.Length + offset];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        return file;
    }

    private static List<float[]> Parameters(byte[] weights, ImportedBundle imported)
    {
        using var model = TestEngine.Models.Build(imported.ModelSpec);
        using (var reader = new BinaryReader(new MemoryStream(weights)))
        {
            model.load(reader);
        }

        return [.. model.parameters().Select(p => p.detach().contiguous().data<float>().ToArray())];
    }

    private async Task<LoadedCheckpoint> TrainedCheckpointAsync()
    {
        var (_, run) = await TestEngine.TrainAsync(TestEngine.MnistSubset(epochs: 1) with { SampleLimit = 400 });
        var store = new CheckpointStore(_folder.Path);
        var written = store.Write("run", "last", run.LastCheckpoint);
        return store.Read(written.RelativePath, written.Sha256);
    }
}
