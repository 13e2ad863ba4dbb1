using System.IO.Compression;
using Dashboard.Plugins;

namespace Dashboard.Engine.Datasets.Images;

/// <summary>
/// Reads an image-folder zip (class folders of PNG/JPEG files) into samples. Every entry is inflated with its bytes
/// counted — the sizes in the zip's headers are never trusted — against the per-entry, total and compression-ratio caps.
/// </summary>
public static class ImageZipReader
{
    private const int ChunkBytes = 64 * 1024;

    /// <summary>True when the stream holds a zip, judged by its first bytes (not its name); the position is kept.</summary>
    public static bool IsZip(Stream stream) => ImageZipLayout.IsZip(stream);

    /// <summary>The class folders and their image counts, read from the central directory alone (nothing is inflated).</summary>
    /// <exception cref="ImageZipException">Not a zip, too many entries, or a structure that is refused.</exception>
    public static IReadOnlyList<ImageClass> Survey(Stream zip, ImageZipLimits limits)
    {
        using var archive = Open(zip, limits);
        return [.. ImageZipLayout.Read(archive, limits.MaxClasses).Select(c => new ImageClass(c.Name, c.Entries.Count))];
    }

    /// <summary>Checks and decodes every image: the description to store and the samples, labelled by class folder in ordinal order.</summary>
    /// <exception cref="ImageZipException">The first problem, naming the entry (or the field, for size and colour).</exception>
    public static (ImageFolderDescription Description, RawDataset Data) Read(Stream zip, string sha256, ImageZipRequest request, ImageZipLimits limits)
    {
        if (request.ImageSize < limits.MinImageSize || request.ImageSize > limits.MaxImageSize)
        {
            throw new ImageZipException($"imageSize must be between {limits.MinImageSize} and {limits.MaxImageSize} pixels.", "imageSize");
        }

        if (!ImageColors.All.Contains(request.Color))
        {
            throw new ImageZipException($"color must be {string.Join(" or ", ImageColors.All)}.", "color");
        }

        using var archive = Open(zip, limits);
        var classes = ImageZipLayout.Read(archive, limits.MaxClasses);
        var count = classes.Sum(c => c.Entries.Count);
        var channels = ImageColors.Channels(request.Color);
        var sampleSize = channels * request.ImageSize * request.ImageSize;

        // Known from the directory alone: refused before a single image is decoded.
        if ((long)count * sampleSize > limits.MaxDecodedValues)
        {
            throw new ImageZipException(
                $"{count:N0} images of {channels}×{request.ImageSize}×{request.ImageSize} would take {(long)count * sampleSize * 4:N0} bytes; at most {limits.MaxDecodedValues * 4:N0} are allowed. Choose a smaller imageSize or grayscale.",
                "imageSize");
        }

        var features = new float[count * sampleSize];
        var labels = new long[count];
        long inflated = 0;
        var index = 0;
        for (var label = 0; label < classes.Count; label++)
        {
            foreach (var entry in classes[label].Entries)
            {
                var bytes = Inflate(entry, limits, ref inflated);
                ImageDecoder.Decode(bytes, entry.FullName, request.ImageSize, request.Color, limits.MaxPixels, features.AsSpan(index * sampleSize, sampleSize));
                labels[index++] = label;
            }
        }

        var description = new ImageFolderDescription(
            request.Name, sha256, request.ImageSize, request.Color, [.. classes.Select(c => new ImageClass(c.Name, c.Entries.Count))]);
        return (description, new RawDataset(features, labels, description.SampleShape, classes.Count));
    }

    private static ZipArchive Open(Stream zip, ImageZipLimits limits)
    {
        zip.Position = 0;
        if (!IsZip(zip))
        {
            throw new ImageZipException("The file is not a zip archive.");
        }

        ImageZipLayout.CheckEntryCount(zip, limits);
        try
        {
            return new ZipArchive(zip, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new ImageZipException($"The zip cannot be read: {e.Message}");
        }
    }

    /// <summary>An entry's bytes, counted while inflating: a lying header cannot make it larger than the caps.</summary>
    private static byte[] Inflate(ZipArchiveEntry entry, ImageZipLimits limits, ref long inflated)
    {
        var output = new MemoryStream();
        var chunk = new byte[ChunkBytes];
        long count = 0;
        try
        {
            using var input = entry.Open();
            int read;
            while ((read = input.Read(chunk)) > 0)
            {
                count += read;
                inflated += read;
                if (count > limits.MaxEntryBytes)
                {
                    throw new ImageZipException($"'{entry.FullName}' inflates to more than {limits.MaxEntryBytes:N0} bytes, the most one entry may have.");
                }

                if (inflated > limits.MaxTotalBytes)
                {
                    throw new ImageZipException($"The zip inflates to more than {limits.MaxTotalBytes:N0} bytes (at '{entry.FullName}'), the most allowed.");
                }

                if (count > limits.RatioGraceBytes && count > limits.MaxCompressionRatio * Math.Max(1, entry.CompressedLength))
                {
                    throw new ImageZipException(
                        $"'{entry.FullName}' inflates more than {limits.MaxCompressionRatio}-fold; such an entry is taken for a zip bomb and refused.");
                }

                output.Write(chunk, 0, read);
            }
        }
        catch (InvalidDataException e)
        {
            throw new ImageZipException($"'{entry.FullName}' cannot be inflated: {e.Message}");
        }

        return output.ToArray();
    }
}
