using System.Buffers.Binary;
using System.IO.Compression;

namespace Dashboard.Engine.Datasets.Images;

/// <summary>One class folder of an open archive: its name and its image entries in ordinal order.</summary>
internal sealed record ClassEntries(string Name, IReadOnlyList<ZipArchiveEntry> Entries);

/// <summary>
/// The structure of an image-folder zip, read from its central directory without inflating anything: <c>class/image</c>
/// entries, optionally all under one top folder. Names that could climb out of a folder, entries that are not images, and
/// empty or single classes are refused here, before any byte is inflated.
/// </summary>
internal static class ImageZipLayout
{
    public static readonly string[] Extensions = [".png", ".jpg", ".jpeg"];

    /// <summary>End-of-central-directory record: signature, then the total entry count at offset 10.</summary>
    private const uint EndRecordSignature = 0x06054b50;
    private const int EndRecordSize = 22;

    /// <summary>True when the stream starts like a zip (a local file header, or the end record of an empty archive).</summary>
    public static bool IsZip(Stream stream)
    {
        Span<byte> head = stackalloc byte[4];
        var start = stream.Position;
        var read = stream.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        stream.Position = start;
        var signature = BinaryPrimitives.ReadUInt32LittleEndian(head);
        return read == 4 && signature is 0x04034b50 or EndRecordSignature;
    }

    /// <summary>
    /// The entry count the end record announces, checked against the cap before <see cref="ZipArchive"/> reads the central
    /// directory (it keeps an object per entry, so a directory of millions of tiny entries would otherwise be held whole).
    /// </summary>
    public static void CheckEntryCount(Stream stream, ImageZipLimits limits)
    {
        var tail = (int)Math.Min(stream.Length, EndRecordSize + ushort.MaxValue);
        var buffer = new byte[tail];
        stream.Position = stream.Length - tail;
        stream.ReadExactly(buffer);
        stream.Position = 0;
        for (var i = tail - EndRecordSize; i >= 0; i--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(i)) != EndRecordSignature)
            {
                continue;
            }

            // 0xFFFF means the count lives in a zip64 record: more entries than any cap here allows.
            var count = BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(i + 10));
            if (count > limits.MaxEntries)
            {
                throw new ImageZipException($"The zip has {(count == ushort.MaxValue ? "65,535 or more" : count.ToString("N0"))} entries; at most {limits.MaxEntries:N0} are allowed.");
            }

            return;
        }

        throw new ImageZipException("The file starts like a zip but has no end-of-archive record: it is cut short or not a zip.");
    }

    /// <summary>The class folders in ordinal order, each with its images; throws naming the first entry that does not fit.</summary>
    public static IReadOnlyList<ClassEntries> Read(ZipArchive archive, int maxClasses)
    {
        var files = new List<(ZipArchiveEntry Entry, string[] Parts)>();
        var folders = new List<string[]>();
        foreach (var entry in archive.Entries)
        {
            var parts = Parts(entry.FullName);
            if (Ignored(parts))
            {
                continue;
            }

            if (entry.FullName.EndsWith('/') || entry.FullName.EndsWith('\\'))
            {
                folders.Add(parts);
            }
            else
            {
                files.Add((entry, parts));
            }
        }

        // One shared top folder (a zipped folder of class folders) is stripped; then every file must be class/image.
        var top = files.Count > 0 && files.All(f => f.Parts.Length == 3 && f.Parts[0] == files[0].Parts[0]) ? 1 : 0;
        var classes = new SortedDictionary<string, List<ZipArchiveEntry>>(StringComparer.Ordinal);
        foreach (var (entry, parts) in files)
        {
            if (parts.Length - top != 2)
            {
                throw new ImageZipException(
                    $"'{entry.FullName}' is not directly inside a class folder: the zip must hold class folders of images (class/image.png), optionally all under one top folder.");
            }

            if (!Extensions.Contains(Path.GetExtension(parts[^1]), StringComparer.OrdinalIgnoreCase))
            {
                throw new ImageZipException($"'{entry.FullName}' is not an image: class folders may hold only .png, .jpg and .jpeg files.");
            }

            var name = parts[top];
            if (!classes.TryGetValue(name, out var entries))
            {
                classes[name] = entries = [];
            }

            entries.Add(entry);
        }

        foreach (var parts in folders.Where(p => p.Length - top == 1 && (top == 0 || p[0] == files[0].Parts[0])))
        {
            if (!classes.ContainsKey(parts[top]))
            {
                throw new ImageZipException($"The class folder '{parts[top]}' has no images.");
            }
        }

        if (classes.Count < 2)
        {
            throw new ImageZipException(
                $"The zip has {classes.Count} class folder{(classes.Count == 1 ? "" : "s")}{(classes.Count == 1 ? $" ('{classes.Keys.First()}')" : "")}; a classifier needs at least 2.");
        }

        if (classes.Count > maxClasses)
        {
            throw new ImageZipException($"The zip has {classes.Count:N0} class folders; at most {maxClasses:N0} are allowed.");
        }

        return [.. classes.Select(c => new ClassEntries(c.Key, [.. c.Value.OrderBy(e => e.FullName, StringComparer.Ordinal)]))];
    }

    /// <summary>An entry name split into folders and file name; a name that could leave the archive's folder is refused.</summary>
    private static string[] Parts(string fullName)
    {
        var parts = fullName.Split(['/', '\\'], StringSplitOptions.RemoveEmptyEntries);
        if (fullName.StartsWith('/') || fullName.StartsWith('\\') || fullName.Contains(':') || fullName.Contains('\0')
            || parts.Any(p => p is "." or ".."))
        {
            throw new ImageZipException($"The entry name '{fullName}' is absolute or climbs out of its folder ('..'); such archives are refused.");
        }

        return parts;
    }

    /// <summary>macOS's resource forks (<c>__MACOSX/</c>) and hidden files such as <c>.DS_Store</c> are not data.</summary>
    private static bool Ignored(string[] parts) =>
        parts.Length == 0 || parts[0] == "__MACOSX" || parts[^1].StartsWith('.');
}
