using System.IO.Compression;
using System.Text;
using Dashboard.Engine.Export;

namespace Dashboard.IntegrationTests;

/// <summary>Bundles made by hand for the import tests: a spirals MLP of any width, or a spec alone.</summary>
internal static class TestBundles
{
    /// <summary>A CNN spec of a few bytes that means 4.3 billion parameters (17 GB), in a zip of under 1 KB.</summary>
    public static byte[] SeventeenGigabyteSpec() => Zip(
        ("model-spec.json", """{"architecture":"cnn","inputShape":[1,2048,2048],"classCount":10,"channels":[64]}"""u8.ToArray()),
        ("config.json", """{"dataset":"mnist","model":"cnn"}"""u8.ToArray()),
        ("model.safetensors", Safetensors.Write([new NamedTensor("x", [1], [0f])])));

    /// <summary>
    /// A valid bundle of a spirals MLP with the given hidden widths and random (incompressible) weights, stored without
    /// compression so building it is quick; its weights take 4 bytes per parameter.
    /// </summary>
    public static byte[] SpiralsMlp(int[] hiddenSizes, int seed)
    {
        var random = new Random(seed);
        var tensors = new List<NamedTensor>();
        long width = 2;
        for (var i = 0; i <= hiddenSizes.Length; i++)
        {
            var (name, outputs) = i < hiddenSizes.Length ? ($"layers.fc{i + 1}", hiddenSizes[i]) : ("layers.head", 2);
            tensors.Add(new NamedTensor($"{name}.weight", [outputs, width], Random(random, outputs * width)));
            tensors.Add(new NamedTensor($"{name}.bias", [outputs], Random(random, outputs)));
            width = outputs;
        }

        var spec = $$"""{"architecture":"mlp","inputShape":[2],"classCount":2,"hiddenSizes":[{{string.Join(",", hiddenSizes)}}]}""";
        return Zip(
            ("model-spec.json", Encoding.UTF8.GetBytes(spec)),
            ("config.json", """{"dataset":"spirals","model":"mlp","optimizer":"sgd","learningRate":0.01}"""u8.ToArray()),
            ("model.safetensors", Safetensors.Write(tensors)));
    }

    private static float[] Random(Random random, long count)
    {
        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)(random.NextDouble() - 0.5);
        }

        return values;
    }

    private static byte[] Zip(params (string Name, byte[] Bytes)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, bytes) in entries)
            {
                using var stream = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
                stream.Write(bytes);
            }
        }

        return buffer.ToArray();
    }
}
