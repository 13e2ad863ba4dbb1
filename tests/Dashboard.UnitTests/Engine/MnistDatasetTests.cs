using System.IO.Compression;
using Dashboard.Engine.Datasets;
using Dashboard.Plugins;
using Dashboard.UnitTests.Support;

namespace Dashboard.UnitTests.Engine;

public sealed class MnistDatasetTests : IDisposable
{
    private const int HeaderBytes = 16;
    private const int Digits = 10_000;
    private const int PixelsPerDigit = 28 * 28;

    private readonly TempDirectory _temp = new();

    /// <summary>The registry's instance, whose decoded digits the other engine tests share.</summary>
    private static IDatasetSource Shipped => TestEngine.Datasets.Get(MnistDataset.DatasetName);

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Load_ShippedFile_HasTenThousandDigitsWithEveryLabel()
    {
        var data = Shipped.Load();

        Assert.Equal(Digits, data.Count);
        Assert.Equal([1, 28, 28], data.SampleShape);
        Assert.Equal(10, data.ClassCount);
        Assert.Equal(Digits * PixelsPerDigit, data.Features.Length);
        Assert.Equal(PixelsPerDigit, data.SampleSize);
        Assert.Equal(Enumerable.Range(0, 10).Select(l => (long)l), data.Labels.Distinct().Order());
        // Pixels are normalised with MNIST's mean 0.1307 and deviation 0.3081: black maps to -0.424, white to 2.821.
        Assert.Equal(-0.4242, data.Features.Min(), tolerance: 1e-3);
        Assert.Equal(2.8215, data.Features.Max(), tolerance: 1e-3);
    }

    [Fact]
    public void Info_ShippedFile_DescribesWhatLoadReturns()
    {
        var source = Shipped;
        var data = source.Load();

        Assert.Equal(data.Count, source.Info.SampleCount);
        Assert.Equal(data.SampleShape, source.Info.SampleShape);
        Assert.Equal(data.ClassCount, source.Info.ClassCount);
        Assert.True(source.Info.IsImage);
    }

    [Fact]
    public void Load_MissingFile_ThrowsFileNotFoundNamingPath()
    {
        var path = _temp.Combine("absent.bin.gz");

        var error = Assert.Throws<FileNotFoundException>(() => new MnistDataset(path).Load());

        Assert.Equal(path, error.FileName);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void Load_GzipCutInHalf_ThrowsInvalidDataNamingFile()
    {
        var shipped = File.ReadAllBytes(MnistDataset.DefaultPath);
        var path = WriteFile("half.bin.gz", shipped[..(shipped.Length / 2)]);

        var error = Assert.Throws<InvalidDataException>(() => new MnistDataset(path).Load());

        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void Load_PayloadMissingItsLastLabels_ThrowsTruncatedMessage()
    {
        var payload = ShippedPayload();
        var path = WriteFile("short.bin.gz", Gzip(payload[..^100]));

        var error = Assert.Throws<InvalidDataException>(() => new MnistDataset(path).Load());

        Assert.Contains(path, error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void Load_PayloadWithTrailingBytes_ThrowsPaddedMessage()
    {
        var path = WriteFile("long.bin.gz", Gzip([.. ShippedPayload(), 0, 0, 0]));

        var error = Assert.Throws<InvalidDataException>(() => new MnistDataset(path).Load());

        Assert.Contains("padded", error.Message);
    }

    [Fact]
    public void Load_NotGzipAtAll_ThrowsInvalidData()
    {
        var path = WriteFile("garbage.bin.gz", RandomBytes(4096));

        Assert.Throws<InvalidDataException>(() => new MnistDataset(path).Load());
    }

    [Fact]
    public void Load_NotGzipAtAll_MessageNamesFile()
    {
        var path = WriteFile("garbage.bin.gz", RandomBytes(4096));

        var error = Assert.Throws<InvalidDataException>(() => new MnistDataset(path).Load());

        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void Load_GzippedGarbage_ThrowsNotAnMnistFile()
    {
        var path = WriteFile("garbage.bin.gz", Gzip(RandomBytes(4096)));

        var error = Assert.Throws<InvalidDataException>(() => new MnistDataset(path).Load());

        Assert.Contains(path, error.Message);
        Assert.Contains("not an MNS1 digit file", error.Message);
    }

    [Fact]
    public void Load_LabelAboveNine_ThrowsNamingTheDigit()
    {
        var payload = ShippedPayload();
        payload[HeaderBytes + (Digits * PixelsPerDigit) + 42] = 10;
        var path = WriteFile("label.bin.gz", Gzip(payload));

        var error = Assert.Throws<InvalidDataException>(() => new MnistDataset(path).Load());

        Assert.Contains("label 10 of digit 42", error.Message);
    }

    private static byte[] ShippedPayload()
    {
        using var file = File.OpenRead(MnistDataset.DefaultPath);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var payload = new MemoryStream();
        gzip.CopyTo(payload);
        return payload.ToArray();
    }

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(1).NextBytes(bytes);
        return bytes;
    }

    private static byte[] Gzip(byte[] payload)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest))
        {
            gzip.Write(payload);
        }

        return compressed.ToArray();
    }

    private string WriteFile(string name, byte[] bytes)
    {
        var path = _temp.Combine(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
