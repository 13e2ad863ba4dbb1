using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dashboard.Engine.Metrics;

namespace Dashboard.Bench.Figures;

/// <summary>
/// Figure 6: a 1,000,000-point per-step curve thinned for a chart 1,200–2,000 px wide by the engine's
/// <see cref="Downsampler"/>; points sent, server time (downsample + JSON), and payload against sending the raw curve.
/// </summary>
internal static class LongCurves
{
    private const int Points = 1_000_000;
    private const int MaxPointsTarget = 5_000;
    private const double MaxMillisecondsTarget = 50;
    private static readonly int[] Widths = [1200, 1600, 2000];

    public static FigureResult Run(BenchSettings settings)
    {
        var result = new FigureResult
        {
            Id = "6",
            Name = "Long curves: 1,000,000-point curve → chart (min/max per pixel)",
            RatioMeaning = "= downsampled JSON bytes / raw JSON bytes",
            Target = $"≤ {MaxPointsTarget:N0} points, ≤ {MaxMillisecondsTarget:F0} ms",
        };

        var (x, y) = Curve(Points);
        var reps = settings.Pick(9, 31);
        var perWidth = new List<Dictionary<string, object?>>();
        var worstPoints = 0;
        var worstMs = 0.0;
        long widestBytes = 0;
        foreach (var width in Widths)
        {
            var sent = 0;
            byte[] json = [];
            var downsample = new List<double>();
            var total = new List<double>();
            for (var i = 0; i < reps + 2; i++)
            {
                var clock = Stopwatch.StartNew();
                var (keptX, keptY) = Downsampler.MinMax(x, y, width);
                var thinned = clock.Elapsed.TotalMilliseconds;
                json = JsonSerializer.SerializeToUtf8Bytes(new Series(keptX, keptY));
                var all = clock.Elapsed.TotalMilliseconds;
                if (i >= 2)
                {
                    downsample.Add(thinned);
                    total.Add(all);
                }

                sent = keptX.Length;
            }

            var medianTotal = Stats.Median(total);
            worstPoints = Math.Max(worstPoints, sent);
            worstMs = Math.Max(worstMs, medianTotal);
            widestBytes = json.Length;
            perWidth.Add(new()
            {
                ["widthPx"] = width,
                ["pointsSent"] = sent,
                ["budget"] = Downsampler.MaxPoints(width),
                ["downsampleMsMedian"] = Stats.Round(Stats.Median(downsample)),
                ["downsamplePlusJsonMsMedian"] = Stats.Round(medianTotal),
                ["downsamplePlusJsonMsMax"] = Stats.Round(Stats.Max(total)),
                ["jsonBytes"] = json.Length,
            });
        }

        // Side by side: what sending the whole curve would cost.
        var rawMs = new List<double>();
        byte[] raw = [];
        for (var i = 0; i < settings.Pick(2, 5); i++)
        {
            var clock = Stopwatch.StartNew();
            raw = JsonSerializer.SerializeToUtf8Bytes(new Series(x, y));
            rawMs.Add(clock.Elapsed.TotalMilliseconds);
        }

        result.Ratio = (double)widestBytes / raw.Length;
        result.Verdict = FigureResult.Judge(worstPoints <= MaxPointsTarget && worstMs <= MaxMillisecondsTarget);
        result.Absolute = string.Create(CultureInfo.InvariantCulture,
            $"at 2,000 px: {worstPoints:N0} points, {widestBytes / 1024.0:F0} KiB; worst median server time {worstMs:F1} ms over 1,200/1,600/2,000 px; raw curve {raw.Length / 1048576.0:F1} MiB JSON in {Stats.Median(rawMs):F0} ms");
        result.Details["points"] = Points;
        result.Details["repetitions"] = reps;
        result.Details["widths"] = perWidth;
        result.Details["rawJsonBytes"] = raw.Length;
        result.Details["rawJsonMsMedian"] = Stats.Round(Stats.Median(rawMs));
        result.Details["serverTimeToRawJsonTimeRatio"] = Stats.Round(worstMs / Stats.Median(rawMs));
        return result;
    }

    /// <summary>A per-step loss curve: decaying, noisy, with rare spikes; the same every run.</summary>
    private static (double[] X, double[] Y) Curve(int count)
    {
        var random = new Random(6);
        var x = new double[count];
        var y = new double[count];
        for (var i = 0; i < count; i++)
        {
            x[i] = i + 1;
            y[i] = (2.3 * Math.Exp(-i / (count / 5.0))) + (0.05 * random.NextDouble()) + (random.Next(10_000) == 0 ? 1.5 : 0);
        }

        return (x, y);
    }

    /// <summary>What a chart is sent: one trace's x and y arrays.</summary>
    private sealed record Series(double[] X, double[] Y);
}
