using System.IO.Compression;
using SkiaSharp;

namespace Dashboard.TestSupport;

/// <summary>
/// Image-folder zips drawn with SkiaSharp for the tests: two classes a model can tell apart (a filled circle or a filled
/// square, at a seeded position and size), and helpers to build zips with any entries, good or crafted.
/// </summary>
public static class SyntheticImages
{
    /// <summary>A PNG of <paramref name="size"/>² pixels: a white circle or square on black, placed by <paramref name="random"/>.</summary>
    public static byte[] Shape(bool circle, int size, Random random)
    {
        using var bitmap = new SKBitmap(size, size);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.Black);
            using var paint = new SKPaint { Color = SKColors.White, IsAntialias = false, Style = SKPaintStyle.Fill };
            var radius = size * (0.2f + (0.1f * (float)random.NextDouble()));
            var x = radius + ((size - (2 * radius)) * (float)random.NextDouble());
            var y = radius + ((size - (2 * radius)) * (float)random.NextDouble());
            if (circle)
            {
                canvas.DrawCircle(x, y, radius, paint);
            }
            else
            {
                canvas.DrawRect(x - radius, y - radius, 2 * radius, 2 * radius, paint);
            }
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

    /// <summary>A zip of <c>circle/</c> and <c>square/</c> folders with <paramref name="perClass"/> images each, optionally under one top folder.</summary>
    public static byte[] ShapesZip(int perClass, int size, int seed = 1, string? top = null)
    {
        var random = new Random(seed);
        var prefix = top is null ? "" : top + "/";
        var entries = new List<(string, byte[])>();
        for (var i = 0; i < perClass; i++)
        {
            entries.Add(($"{prefix}circle/{i:D3}.png", Shape(true, size, random)));
            entries.Add(($"{prefix}square/{i:D3}.png", Shape(false, size, random)));
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
