using Dashboard.Engine.Datasets.Images;
using Dashboard.TestSupport;
using SkiaSharp;

namespace Dashboard.UnitTests.Engine.Images;

/// <summary>Decoding with SkiaSharp: channels first, resized to the asked square, scaled to [0, 1].</summary>
public sealed class ImageDecoderTests
{
    private static float[] Decode(byte[] image, int size, string color)
    {
        var sample = new float[ImageColors.Channels(color) * size * size];
        ImageDecoder.Decode(image, "x.png", size, color, long.MaxValue, sample);
        return sample;
    }

    [Fact]
    public void Decode_RedPngAsRgb_FillsTheRedPlaneOnly()
    {
        var sample = Decode(SyntheticImages.Solid(SKColors.Red, 20, 10), 8, ImageColors.Rgb);

        Assert.Equal(3 * 64, sample.Length);
        Assert.All(sample[..64], v => Assert.Equal(1f, v));
        Assert.All(sample[64..], v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Decode_RedPngAsGrayscale_IsItsLuma()
    {
        var sample = Decode(SyntheticImages.Solid(SKColors.Red, 20, 10), 8, ImageColors.Grayscale);

        Assert.Equal(64, sample.Length);
        Assert.All(sample, v => Assert.Equal(0.299f, v, 3));
    }

    [Fact]
    public void Decode_Jpeg_DecodesNearItsColour()
    {
        var sample = Decode(SyntheticImages.Solid(new SKColor(0, 0, 255), 16, 16, SKEncodedImageFormat.Jpeg), 16, ImageColors.Rgb);

        Assert.All(sample[(2 * 256)..], v => Assert.InRange(v, 0.9f, 1f));
        Assert.All(sample[..256], v => Assert.InRange(v, 0f, 0.1f));
    }

    [Fact]
    public void Decode_LeftHalfWhite_KeepsTheHalvesWhenShrunk()
    {
        using var bitmap = new SKBitmap(32, 32);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.Black);
            using var paint = new SKPaint { Color = SKColors.White };
            canvas.DrawRect(0, 0, 16, 32, paint);
        }

        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);

        var sample = Decode(png.ToArray(), 8, ImageColors.Grayscale);

        for (var y = 0; y < 8; y++)
        {
            Assert.All(sample.AsSpan((y * 8) + 0, 3).ToArray(), v => Assert.True(v > 0.95f, $"row {y}: {v}"));
            Assert.All(sample.AsSpan((y * 8) + 5, 3).ToArray(), v => Assert.True(v < 0.05f, $"row {y}: {v}"));
        }
    }
}
