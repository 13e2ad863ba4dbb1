using SkiaSharp;

namespace Dashboard.Engine.Datasets.Images;

/// <summary>Turns one encoded PNG or JPEG into a sample: decoded with SkiaSharp, resized to a square, scaled to [0, 1].</summary>
public static class ImageDecoder
{
    /// <summary>
    /// Decodes <paramref name="encoded"/> into <paramref name="sample"/>, channels first ([C, size, size]). The header is read
    /// first, and an image announcing more than <see cref="ImageZipLimits.MaxPixels"/> is refused before its pixels are
    /// decoded. Transparent pixels count as black (decoded premultiplied), so the result does not depend on the colour
    /// hidden under zero alpha. Grayscale is Rec. 601 luma of the RGB image, so colour and grey files decode alike.
    /// </summary>
    /// <exception cref="ImageZipException">Not an image SkiaSharp reads, too many pixels, or corrupt data.</exception>
    public static void Decode(byte[] encoded, string entryName, int size, string color, long maxPixels, Span<float> sample)
    {
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data)
            ?? throw new ImageZipException($"'{entryName}' is not an image SkiaSharp can read (PNG or JPEG).");
        var width = codec.Info.Width;
        var height = codec.Info.Height;
        if (width < 1 || height < 1 || (long)width * height > maxPixels)
        {
            throw new ImageZipException($"'{entryName}' is {width}×{height} pixels; images may have at most {maxPixels:N0} pixels.");
        }

        var full = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var bitmap = new SKBitmap(full);
        var result = codec.GetPixels(full, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            throw new ImageZipException($"'{entryName}' does not decode ({result}); the file is damaged or not what its name says.");
        }

        using var resized = width == size && height == size
            ? bitmap.Copy()
            : bitmap.Resize(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul), SKFilterQuality.Medium)
                ?? throw new ImageZipException($"'{entryName}' could not be resized to {size}×{size}.");
        var pixels = resized.GetPixelSpan();
        var rowBytes = resized.RowBytes;
        var plane = size * size;
        for (var y = 0; y < size; y++)
        {
            for (var x = 0; x < size; x++)
            {
                var p = (y * rowBytes) + (x * 4);
                var i = (y * size) + x;
                if (color == ImageColors.Rgb)
                {
                    sample[i] = pixels[p] / 255f;
                    sample[plane + i] = pixels[p + 1] / 255f;
                    sample[(2 * plane) + i] = pixels[p + 2] / 255f;
                }
                else
                {
                    sample[i] = ((0.299f * pixels[p]) + (0.587f * pixels[p + 1]) + (0.114f * pixels[p + 2])) / 255f;
                }
            }
        }
    }
}
