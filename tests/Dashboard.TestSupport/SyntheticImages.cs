using System.IO.Compression;
using SkiaSharp;

namespace Dashboard.TestSupport;

/// <summary>
/// Image-folder zips drawn with SkiaSharp for the tests: two classes a model can tell apart (horizontal or vertical bars,
/// at seeded places and sizes), and helpers to build zips with any entries, good or crafted.
/// </summary>
public static class SyntheticImages
{
    /// <summary>
    /// A PNG of <paramref name="size"/>² pixels: a white horizontal or vertical bar on black, its place, length and width
    /// drawn from <paramref name="random"/>. Orientation is what a small convolutional network learns in a few epochs.
    /// </summary>
    public static byte[] Bar(bool horizontal, int size, Random random)
    {
        using var bitmap = new SKBitmap(size, size);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.Black);
            using var paint = new SKPaint { Color = SKColors.White, IsAntialias = false, Style = SKPaintStyle.Fill };
            var length = random.Next(size / 2, size + 1);
            var width = random.Next(2, 4);
            var along = random.Next(0, size - length + 1);
            var across = random.Next(0, size - width + 1);
            canvas.DrawRect(horizontal ? new SKRect(along, across, along + length, across + width) : new SKRect(across, along, across + width, along + length), paint);
        }

        return Encode(bitmap, SKEncodedImageFormat.Png);
    }

    /// <summary>One colour over the whole image, as PNG or JPEG.</summary>
    public static byte[] Solid(SKColor color, int width, int height, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        using var bitmap = new SKBitmap(width, height);
        bitmap.Erase(color);
        return Encode(bitmap, format);
    }

    /// <summary>A zip of <c>horizontal/</c> and <c>vertical/</c> bar folders with <paramref name="perClass"/> images each, optionally under one top folder.</summary>
    public static byte[] BarsZip(int perClass, int size, int seed = 1, string? top = null)
    {
        var random = new Random(seed);
        var prefix = top is null ? "" : top + "/";
        var entries = new List<(string, byte[])>();
        for (var i = 0; i < perClass; i++)
        {
            entries.Add(($"{prefix}horizontal/{i:D3}.png", Bar(true, size, random)));
            entries.Add(($"{prefix}vertical/{i:D3}.png", Bar(false, size, random)));
        }

        return Zip(entries);
    }

    /// <summary>A zip holding exactly these entries (a name ending in '/' is a folder).</summary>
    public static byte[] Zip(IEnumerable<(string Name, byte[] Bytes)> entries, CompressionLevel level = CompressionLevel.Optimal)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, bytes) in entries)
            {
                var entry = archive.CreateEntry(name, level);
                if (!name.EndsWith('/'))
                {
                    using var stream = entry.Open();
                    stream.Write(bytes);
                }
            }
        }

        return buffer.ToArray();
    }

    private static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 95);
        return data.ToArray();
    }
}
