using Dashboard.Engine.Metrics;

namespace Dashboard.UnitTests.Metrics;

public sealed class DownsamplerTests
{
    private const int Width = 1600;

    [Fact]
    public void MinMaxIndices_LongCurve_KeepsFirstAndLastPoints()
    {
        var (x, y) = NoisyCurve(1_000_000, seed: 1);

        var kept = Downsampler.MinMaxIndices(x, y, Width);

        Assert.Equal(0, kept[0]);
        Assert.Equal(x.Length - 1, kept[^1]);
    }

    [Fact]
    public void MinMaxIndices_LongCurve_StaysWithinThePointBudget()
    {
        var (x, y) = NoisyCurve(1_000_000, seed: 2);

        var kept = Downsampler.MinMaxIndices(x, y, Width);

        Assert.True(kept.Length <= Downsampler.MaxPoints(Width), $"{kept.Length} points for {Width} px");
        Assert.True(kept.Length <= 5_000);
        Assert.True(kept.Length >= Width, "every pixel column of a dense curve keeps at least one point");
    }

    [Fact]
    public void MinMaxIndices_LongCurve_KeepsTheExtremesOfEveryBucket()
    {
        var (x, y) = NoisyCurve(200_003, seed: 3);

        var kept = Downsampler.MinMaxIndices(x, y, Width).ToHashSet();

        // Brute force: the lowest and highest y of every pixel bucket must be among the kept points.
        var span = x[^1] - x[0];
        var lowest = new Dictionary<int, double>();
        var highest = new Dictionary<int, double>();
        for (var i = 0; i < x.Length; i++)
        {
            var bucket = Math.Min(Width - 1, (int)((x[i] - x[0]) / span * Width));
            lowest[bucket] = Math.Min(lowest.GetValueOrDefault(bucket, double.PositiveInfinity), y[i]);
            highest[bucket] = Math.Max(highest.GetValueOrDefault(bucket, double.NegativeInfinity), y[i]);
        }

        var keptByBucket = kept.GroupBy(i => Math.Min(Width - 1, (int)((x[i] - x[0]) / span * Width)))
            .ToDictionary(g => g.Key, g => g.Select(i => y[i]).ToList());
        Assert.Equal(lowest.Count, keptByBucket.Count);
        foreach (var (bucket, low) in lowest)
        {
            Assert.Contains(low, keptByBucket[bucket]);
            Assert.Contains(highest[bucket], keptByBucket[bucket]);
        }
    }

    [Fact]
    public void MinMaxIndices_Spike_SurvivesWhereEveryNthSamplingWouldDropIt()
    {
        var x = Enumerable.Range(0, 100_000).Select(i => (double)i).ToArray();
        var y = x.Select(_ => 1.0).ToArray();
        y[54_321] = 50;
        y[77_777] = -3;

        var (keptX, keptY) = Downsampler.MinMax(x, y, 1200);

        Assert.Contains(50.0, keptY);
        Assert.Contains(-3.0, keptY);
        Assert.Contains(54_321.0, keptX);
        Assert.Contains(77_777.0, keptX);
    }

    [Fact]
    public void MinMaxIndices_Output_IsStrictlyAscendingAndDeterministic()
    {
        var (x, y) = NoisyCurve(300_000, seed: 4);

        var first = Downsampler.MinMaxIndices(x, y, Width);
        var second = Downsampler.MinMaxIndices(x, y, Width);

        Assert.Equal(first, second);
        for (var i = 1; i < first.Length; i++)
        {
            Assert.True(first[i] > first[i - 1], $"index {first[i]} follows {first[i - 1]}");
        }
    }

    [Fact]
    public void MinMaxIndices_CurveWithinBudget_IsReturnedWhole()
    {
        var (x, y) = NoisyCurve(Downsampler.MaxPoints(100), seed: 5);

        var kept = Downsampler.MinMaxIndices(x, y, 100);

        Assert.Equal(Enumerable.Range(0, x.Length), kept);
    }

    [Fact]
    public void MinMaxIndices_NaNValues_AreNeverChosenAsExtremes()
    {
        var x = Enumerable.Range(0, 10_000).Select(i => (double)i).ToArray();
        var y = x.Select(v => v % 7 == 0 ? double.NaN : Math.Sin(v)).ToArray();
        y[^1] = 0.5;

        var kept = Downsampler.MinMaxIndices(x, y, 100);

        Assert.All(kept.Skip(1).SkipLast(1), i => Assert.False(double.IsNaN(y[i])));
    }

    [Fact]
    public void MinMaxIndices_UnsortedX_IsRefused()
    {
        double[] x = [0, 2, 1];
        double[] y = [0, 0, 0];

        Assert.Throws<ArgumentException>(() => Downsampler.MinMaxIndices(x, y, 1));
    }

    [Fact]
    public void MinMaxIndices_MismatchedLengths_AreRefused()
    {
        Assert.Throws<ArgumentException>(() => Downsampler.MinMaxIndices(new double[3], new double[2], 10));
    }

    [Fact]
    public void MinMaxIndices_AllPointsAtOneX_KeepsFirstExtremesAndLast()
    {
        var x = new double[10_000];
        var y = Enumerable.Range(0, x.Length).Select(i => (double)((i * 7919) % 10_000)).ToArray();

        var kept = Downsampler.MinMaxIndices(x, y, 10);

        Assert.Equal(0, kept[0]);
        Assert.Equal(x.Length - 1, kept[^1]);
        Assert.Contains(Array.IndexOf(y, 0.0), kept);
        Assert.Contains(Array.IndexOf(y, 9_999.0), kept);
        Assert.True(kept.Length <= 4);
    }

    /// <summary>A per-step loss curve: decaying, noisy, with occasional spikes; x are step numbers.</summary>
    internal static (double[] X, double[] Y) NoisyCurve(int count, int seed)
    {
        var random = new Random(seed);
        var x = new double[count];
        var y = new double[count];
        for (var i = 0; i < count; i++)
        {
            x[i] = i + 1;
            y[i] = (2.3 * Math.Exp(-i / (count / 5.0))) + (0.05 * random.NextDouble()) + (random.Next(10_000) == 0 ? 1.5 : 0);
        }

        return (x, y);
    }
}
