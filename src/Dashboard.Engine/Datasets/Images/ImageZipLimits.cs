namespace Dashboard.Engine.Datasets.Images;

/// <summary>
/// Bounds on an uploaded image-folder zip. Every one is checked while reading, never from the zip's own size fields, so a
/// crafted archive cannot make the server inflate or hold more than these.
/// </summary>
public sealed record ImageZipLimits
{
    /// <summary>Entries in the archive's central directory (folders included), read from its end record before anything else.</summary>
    public int MaxEntries { get; init; } = 100_000;

    /// <summary>Bytes one entry may inflate to.</summary>
    public long MaxEntryBytes { get; init; } = 16L * 1024 * 1024;

    /// <summary>Bytes all entries together may inflate to.</summary>
    public long MaxTotalBytes { get; init; } = 1024L * 1024 * 1024;

    /// <summary>Inflated bytes per compressed byte above which an entry is taken for a zip bomb (real PNG/JPEG barely compress).</summary>
    public int MaxCompressionRatio { get; init; } = 100;

    /// <summary>The ratio is only judged past this many inflated bytes: a tiny file's ratio says nothing.</summary>
    public long RatioGraceBytes { get; init; } = 64 * 1024;

    /// <summary>Width × height an image's header may announce; checked before its pixels are decoded.</summary>
    public long MaxPixels { get; init; } = 4096L * 4096;

    /// <summary>Images × channels × side²: the decoded samples, 4 bytes each, held in memory while a run trains.</summary>
    public long MaxDecodedValues { get; init; } = 50_000_000;

    /// <summary>Class folders, each one model output.</summary>
    public int MaxClasses { get; init; } = 1_000;

    public int MinImageSize { get; init; } = 8;

    public int MaxImageSize { get; init; } = 256;
}

/// <summary>The colour a zip's images are decoded to.</summary>
public static class ImageColors
{
    public const string Grayscale = "grayscale";
    public const string Rgb = "rgb";

    public static IReadOnlyList<string> All { get; } = [Grayscale, Rgb];

    public static int Channels(string color) => color == Rgb ? 3 : 1;
}

/// <summary>What the uploader asked for: the side every image is resized to and the colour it is decoded to.</summary>
public sealed record ImageZipRequest(string Name, int ImageSize = ImageZipRequest.DefaultSize, string Color = ImageColors.Grayscale)
{
    public const int DefaultSize = 32;
}

/// <summary>A zip that cannot be used; <see cref="Field"/> is the form field to blame ("file", "imageSize", "color").</summary>
public sealed class ImageZipException(string message, string field = "file") : Exception(message)
{
    public string Field { get; } = field;
}
