using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Metrics;

namespace Dashboard.UnitTests.Data;

/// <summary>What the step store must hold and answer, worked out the slow, obvious way from the rows themselves.</summary>
internal static class StepOracle
{
    /// <summary>
    /// <see cref="StepMetricStore.QueryAsync"/>'s answer by brute force: the rows in [from, to], listed when they fit in
    /// <paramref name="buckets"/>, else grouped by the chart-side <see cref="Downsampler.Bucket"/> of their step.
    /// </summary>
    public static StepSeries Series(IEnumerable<(long Step, double Loss)> rows, long from, long to, int buckets)
    {
        var inRange = rows.Where(r => r.Step >= from && r.Step <= to).OrderBy(r => r.Step).ToList();
        if (inRange.Count == 0)
        {
            return new StepSeries(0, null, null, false, []);
        }

        var (first, last) = (inRange[0].Step, inRange[^1].Step);
        if (inRange.Count <= buckets)
        {
            return new StepSeries(inRange.Count, first, last, false, [.. inRange.Select(r => new StepPoint(r.Step, r.Loss, r.Loss, r.Loss, 1))]);
        }

        var points = inRange
            .GroupBy(r => Downsampler.Bucket(r.Step - first, last - first, buckets))
            .Select(g => new StepPoint(g.First().Step, g.Average(r => r.Loss), g.Min(r => r.Loss), g.Max(r => r.Loss), g.Count()))
            .ToList();
        return new StepSeries(inRange.Count, first, last, true, points);
    }

    /// <summary>The blocks the rows of one run must have.</summary>
    public static List<StepMetricBlock> Blocks(int runId, IEnumerable<(long Step, double Loss)> rows) =>
        [.. rows.GroupBy(r => r.Step / StepMetricStore.BlockSize)
            .OrderBy(g => g.Key)
            .Select(g => new StepMetricBlock
            {
                RunId = runId,
                Block = g.Key,
                FirstStep = g.Min(r => r.Step),
                Count = g.Count(),
                Sum = g.Sum(r => r.Loss),
                Min = g.Min(r => r.Loss),
                Max = g.Max(r => r.Loss),
            })];

    /// <summary>Equal but for the rounding of sums: every step, count and extreme exactly, every mean to 1e-12 of itself.</summary>
    public static void AssertSame(StepSeries expected, StepSeries actual, string because)
    {
        var wanted = (expected.Total, expected.First, expected.Last, expected.Downsampled, expected.Points.Count);
        var got = (actual.Total, actual.First, actual.Last, actual.Downsampled, actual.Points.Count);
        Assert.True(wanted == got, $"{because}: expected {wanted}, got {got}");
        foreach (var (e, a, i) in expected.Points.Zip(actual.Points, Enumerable.Range(0, expected.Points.Count)))
        {
            Assert.True((e.Step, e.Min, e.Max, e.Count) == (a.Step, a.Min, a.Max, a.Count), $"{because}, point {i}: expected {e}, got {a}");
            Assert.True(Close(e.Loss, a.Loss), $"{because}, point {i}: mean {a.Loss}, expected {e.Loss}");
        }
    }

    public static void AssertSame(IReadOnlyList<StepMetricBlock> expected, IReadOnlyList<StepMetricBlock> actual)
    {
        Assert.Equal(expected.Select(b => (b.RunId, b.Block, b.FirstStep, b.Count, b.Min, b.Max)), actual.Select(b => (b.RunId, b.Block, b.FirstStep, b.Count, b.Min, b.Max)));
        Assert.All(expected.Zip(actual), pair => Assert.True(Close(pair.First.Sum, pair.Second.Sum), $"block {pair.First.Block}: sum {pair.Second.Sum}, expected {pair.First.Sum}"));
    }

    private static bool Close(double expected, double actual) => Math.Abs(expected - actual) <= 1e-12 * Math.Abs(expected);
}
