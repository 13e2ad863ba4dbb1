using System.IO.Compression;
using Dashboard.Engine.Datasets.Images;
using Dashboard.Plugins;
using Dashboard.TestSupport;
using SkiaSharp;

namespace Dashboard.UnitTests.Engine.Images;

/// <summary>What an image-folder zip must be, and each way a crafted or broken one is refused by name.</summary>
public sealed class ImageZipReaderTests
{
    private static readonly byte[] Png = SyntheticImages.Solid(SKColors.Gray, 4, 4);

    private static (ImageFolderDescription Description, RawDataset Data) Read(
        byte[] zip, int size = 8, string color = ImageColors.Grayscale, ImageZipLimits? limits = null) =>
        ImageZipReader.Read(new MemoryStream(zip), "hash", new ImageZipRequest("shapes", size, color), limits ?? new ImageZipLimits());

    private static string Refusal(byte[] zip, ImageZipLimits? limits = null, int size = 8) =>
        Assert.Throws<ImageZipException>(() => Read(zip, size, limits: limits)).Message;

    [Theory]
    [InlineData(null)]
    [InlineData("my-shapes")]
    public void Read_ClassFolders_LabelsByFolderInOrdinalOrderWithTheAskedShape(string? top)
    {
        var (description, data) = Read(SyntheticImages.BarsZip(perClass: 5, size: 16, top: top), size: 8);

        Assert.Equal([new ImageClass("horizontal", 5), new ImageClass("vertical", 5)], description.Classes);
        Assert.Equal([1, 8, 8], data.SampleShape);
        Assert.Equal(2, data.ClassCount);
        Assert.Equal([0L, 0, 0, 0, 0, 1, 1, 1, 1, 1], data.Labels);
        Assert.Equal(10 * 64, data.Features.Length);
        Assert.All(data.Features, v => Assert.InRange(v, 0f, 1f));
        Assert.Contains(data.Features, v => v > 0.9f);
    }

    [Fact]
    public void Read_HiddenFilesAndMacResourceForks_AreSkipped()
    {
        var zip = SyntheticImages.Zip([("a/1.png", Png), ("b/1.png", Png), ("a/.DS_Store", [1, 2]), ("__MACOSX/a/._1.png", [3])]);

        Assert.Equal(2, Read(zip).Data.Count);
    }

    [Fact]
    public void Read_NonImageEntry_IsRefusedNamingIt()
    {
        var zip = SyntheticImages.Zip([("a/1.png", Png), ("b/1.png", Png), ("b/notes.txt", "hello"u8.ToArray())]);

        Assert.Contains("'b/notes.txt' is not an image: class folders may hold only .png, .jpg and .jpeg files", Refusal(zip), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_PngNamedFileThatIsNotAnImage_IsRefusedNamingIt()
    {
        var zip = SyntheticImages.Zip([("a/1.png", Png), ("b/fake.png", "not a png at all"u8.ToArray())]);

        Assert.Contains("'b/fake.png' is not an image SkiaSharp can read", Refusal(zip), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_TruncatedPng_IsRefusedAsNotDecoding()
    {
        var whole = SyntheticImages.Bar(true, 64, new Random(1));
        var zip = SyntheticImages.Zip([("a/1.png", Png), ("b/cut.png", whole[..(whole.Length / 2)])]);

        Assert.Contains("'b/cut.png' does not decode", Refusal(zip), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_ZipBombEntry_IsRefusedByItsCompressionRatioWhileInflating()
    {
        // 8 MiB of zeros deflate to a few KiB: within the entry cap, far past the ratio any real image has.
        var zip = SyntheticImages.Zip([("a/1.png", Png), ("b/bomb.png", new byte[8 * 1024 * 1024])]);

        Assert.Contains("'b/bomb.png' inflates more than 100-fold", Refusal(zip), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_EntryInflatingPastTheEntryCap_IsRefusedWhileInflating()
    {
        var limits = new ImageZipLimits { MaxEntryBytes = 1024 * 1024, MaxCompressionRatio = int.MaxValue };
        var zip = SyntheticImages.Zip([("a/1.png", Png), ("b/bomb.png", new byte[3 * 1024 * 1024])]);

        Assert.Contains("'b/bomb.png' inflates to more than 1,048,576 bytes", Refusal(zip, limits), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_EntriesInflatingPastTheTotalCap_AreRefused()
    {
        // Each entry alone fits; the second takes the total past the cap.
        var big = SyntheticImages.Bar(true, 64, new Random(2));
        var limits = new ImageZipLimits { MaxTotalBytes = big.Length + 1 };
        var zip = SyntheticImages.Zip([("a/1.png", big), ("b/1.png", big)], CompressionLevel.NoCompression);

        Assert.Contains($"inflates to more than {big.Length + 1:N0} bytes (at 'b/1.png')", Refusal(zip, limits), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../evil/1.png")]
    [InlineData("a/../../1.png")]
    [InlineData("/etc/1.png")]
    [InlineData("a\\..\\..\\1.png")]
    public void Read_TraversalName_IsRefusedNamingIt(string name)
    {
        var zip = SyntheticImages.Zip([("a/1.png", Png), ("b/1.png", Png), (name, Png)]);

        Assert.Contains($"'{name}' is absolute or climbs out", Refusal(zip), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_OneClassOnly_IsRefused()
    {
        var zip = SyntheticImages.Zip([("cats/1.png", Png), ("cats/2.png", Png)]);

        Assert.Contains("1 class folder ('cats'); a classifier needs at least 2", Refusal(zip), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_EmptyClassFolder_IsRefusedNamingIt()
    {
        var zip = SyntheticImages.Zip([("a/1.png", Png), ("b/1.png", Png), ("c/", [])]);

        Assert.Contains("'c' has no images", Refusal(zip), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_ImageOutsideAClassFolder_IsRefusedNamingIt()
    {
        var zip = SyntheticImages.Zip([("a/1.png", Png), ("b/1.png", Png), ("loose.png", Png)]);

        Assert.Contains("'loose.png' is not directly inside a class folder", Refusal(zip), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_MoreEntriesThanTheCap_IsRefusedBeforeTheDirectoryIsRead()
    {
        var zip = SyntheticImages.Zip([("a/1.png", Png), ("a/2.png", Png), ("b/1.png", Png), ("b/2.png", Png)]);

        Assert.Contains("4 entries; at most 3", Refusal(zip, new ImageZipLimits { MaxEntries = 3 }), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_ImageAnnouncingMorePixelsThanTheCap_IsRefusedNamingIt()
    {
        var zip = SyntheticImages.Zip([("a/1.png", Png), ("b/wide.png", SyntheticImages.Solid(SKColors.Red, 200, 100))]);

        Assert.Contains("'b/wide.png' is 200×100 pixels", Refusal(zip, new ImageZipLimits { MaxPixels = 10_000 }), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_SamplesPastTheMemoryCap_AreRefusedOnImageSize()
    {
        var zip = SyntheticImages.BarsZip(perClass: 2, size: 16);

        var e = Assert.Throws<ImageZipException>(() => Read(zip, size: 64, limits: new ImageZipLimits { MaxDecodedValues = 4 * 32 * 32 }));

        Assert.Equal("imageSize", e.Field);
    }

    [Fact]
    public void Survey_NotAZip_IsRefused()
    {
        var e = Assert.Throws<ImageZipException>(() => ImageZipReader.Survey(new MemoryStream("a,b\n1,2\n"u8.ToArray()), new ImageZipLimits()));

        Assert.Contains("not a zip", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Survey_ClassFolders_CountsImagesWithoutDecoding()
    {
        var zip = SyntheticImages.Zip([("a/1.png", Png), ("b/1.png", Png), ("b/2.png", "undecodable"u8.ToArray())]);

        Assert.Equal([new ImageClass("a", 1), new ImageClass("b", 2)], ImageZipReader.Survey(new MemoryStream(zip), new ImageZipLimits()));
    }
}
