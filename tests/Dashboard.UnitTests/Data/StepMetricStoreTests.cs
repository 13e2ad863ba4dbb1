using System.Diagnostics;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Metrics;
using Dashboard.UnitTests.Metrics;
using Dashboard.UnitTests.Support;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.UnitTests.Data;

public sealed class StepMetricStoreTests : IAsyncLifetime, IDisposable
{
    private readonly TempDatabase _database = new();

    public Task InitializeAsync() => _database.MigrateAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task WriteAsync_StepsReplayedAfterResume_ReplaceTheirRowsInsteadOfAddingOnes()
    {
        var runId = await AddRunAsync();
        await WriteAsync(runId, Steps(1, 100, loss: s => 1.0 / s));

        // A resume from the checkpoint at step 60 trains steps 61.. again, on another machine state perhaps.
        await using (var db = _database.CreateContext())
        {
            Assert.Equal(40, await StepMetricStore.DeleteAfterAsync(db, runId, 60));
        }

        await WriteAsync(runId, Steps(61, 80, loss: s => 2.0 / s));

        // And a write that overlaps what is stored (a crash after a write, before the checkpoint) replaces rather than fails.
        await WriteAsync(runId, Steps(75, 120, loss: s => 3.0 / s));

        await using var check = _database.CreateContext();
        var rows = await check.StepMetrics.Where(s => s.RunId == runId).OrderBy(s => s.Step).ToListAsync();
        Assert.Equal(Enumerable.Range(1, 120).Select(i => (long)i), rows.Select(r => r.Step));
        Assert.Equal(1.0 / 60, rows[59].Loss);
        Assert.Equal(2.0 / 61, rows[60].Loss);
        Assert.Equal(2.0 / 74, rows[73].Loss);
        Assert.Equal(3.0 / 75, rows[74].Loss);
        Assert.Equal(3.0 / 120, rows[^1].Loss);
    }

    [Fact]
    public async Task WriteAsync_NonFiniteLoss_IsSkipped()
    {
        var runId = await AddRunAsync();

        await WriteAsync(runId, [new StepRow(1, 1, 0.5), new StepRow(2, 1, double.NaN), new StepRow(3, 1, double.PositiveInfinity), new StepRow(4, 1, 0.25)]);

        Assert.Equal(["1", "4"], await _database.QueryAsync($"SELECT Step FROM StepMetrics WHERE RunId = {runId} ORDER BY Step"));
    }

    [Fact]
    public async Task QueryAsync_FewerStepsThanBuckets_ReturnsEveryStepOfTheRangeOnly()
    {
        var runId = await AddRunAsync();
        var other = await AddRunAsync();
        await WriteAsync(runId, Steps(1, 50, loss: s => s * 0.5));
        await WriteAsync(other, Steps(1, 50, loss: _ => 99));

        var series = await QueryAsync(runId, from: 10, to: 19, buckets: 10);

        Assert.False(series.Downsampled);
        Assert.Equal((10L, 10L, 19L), (series.Total, series.First!.Value, series.Last!.Value));
        Assert.Equal(Enumerable.Range(10, 10).Select(s => new StepPoint(s, s * 0.5, s * 0.5, s * 0.5, 1)), series.Points);
    }

    [Fact]
    public async Task QueryAsync_EmptyRangeOrRunWithoutSteps_ReturnsNoPoints()
    {
        var runId = await AddRunAsync();
        await WriteAsync(runId, Steps(1, 50, loss: _ => 1));

        var beyond = await QueryAsync(runId, from: 51, to: long.MaxValue, buckets: 100);
        var none = await QueryAsync(await AddRunAsync(), from: 0, to: long.MaxValue, buckets: 100);

        Assert.Equal((0L, (long?)null, (long?)null, false), (beyond.Total, beyond.First, beyond.Last, beyond.Downsampled));
        Assert.Empty(beyond.Points);
        Assert.Equal(0, none.Total);
        Assert.Empty(none.Points);
    }

    [Theory]
    [InlineData(0, long.MaxValue, 700)] // many steps per bucket: from the blocks
    [InlineData(12_345, 31_000, 333)]
    [InlineData(0, long.MaxValue, 2500)] // few steps per bucket: one GROUP BY
    [InlineData(49_000, 50_000, 997)]
    public async Task QueryAsync_LongCurve_AgreesWithDownsamplerBucketByBucket(long from, long to, int buckets)
    {
        var (x, y) = DownsamplerTests.NoisyCurve(50_000, seed: 11);
        var runId = await AddRunAsync();
        await WriteAsync(runId, [.. x.Select((s, i) => new StepRow((long)s, 1, y[i]))]);

        var series = await QueryAsync(runId, from, to, buckets);

        // The same steps through the chart-side thinning: every bucket's extremes must be the SQL bucket's min and max.
        var inRange = Enumerable.Range(0, x.Length).Where(i => x[i] >= from && x[i] <= to).ToArray();
        double[] rangeX = [.. inRange.Select(i => x[i])];
        double[] rangeY = [.. inRange.Select(i => y[i])];
        var kept = Downsampler.MinMaxIndices(rangeX, rangeY, buckets);
        var span = rangeX[^1] - rangeX[0];
        var expected = kept.GroupBy(i => Downsampler.Bucket(rangeX[i] - rangeX[0], span, buckets))
            .Select(g => (Min: g.Min(i => rangeY[i]), Max: g.Max(i => rangeY[i])))
            .ToList();
        var firstOfBucket = Enumerable.Range(0, rangeX.Length)
            .GroupBy(i => Downsampler.Bucket(rangeX[i] - rangeX[0], span, buckets))
            .Select(g => (Step: (long)rangeX[g.First()], Count: g.Count(), Mean: g.Average(i => rangeY[i])))
            .ToList();

        Assert.True(series.Downsampled);
        Assert.Equal((long)rangeX.Length, series.Total);
        Assert.Equal(((long)rangeX[0], (long)rangeX[^1]), (series.First!.Value, series.Last!.Value));
        Assert.Equal(expected, series.Points.Select(p => (p.Min, p.Max)));
        Assert.Equal(firstOfBucket.Select(b => (b.Step, b.Count)), series.Points.Select(p => (p.Step, p.Count)));
        Assert.All(series.Points.Zip(firstOfBucket), pair => Assert.Equal(pair.Second.Mean, pair.First.Loss, 1e-12));
        Assert.True(series.Points.Count <= buckets);
    }

    [Fact]
    public async Task QueryAsync_200kSteps_KeepsGlobalExtremesWithinBucketsAndAnswersQuickly()
    {
        var runId = await AddRunAsync();
        var (x, y) = DownsamplerTests.NoisyCurve(200_000, seed: 12);
        y[123_456] = 40;
        y[7] = -2;
        await WriteAsync(runId, [.. x.Select((s, i) => new StepRow((long)s, 1 + (i / 1000), y[i]))]);
        await QueryAsync(runId, 0, long.MaxValue, 1000); // warm the page cache, as a second look at a chart would

        var clock = Stopwatch.StartNew();
        var series = await QueryAsync(runId, 0, long.MaxValue, 1000);
        clock.Stop();

        Assert.Equal(200_000, series.Total);
        Assert.Equal(1000, series.Points.Count);
        Assert.Equal(200_000, series.Points.Sum(p => p.Count));
        Assert.Equal(40, series.Points.Max(p => p.Max));
        Assert.Equal(-2, series.Points.Min(p => p.Min));

        // Generous: on a shared 2-core machine under a load of 10 it took 100-300 ms.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"200,000 steps took {clock.Elapsed.TotalMilliseconds:F0} ms to bucket.");
    }

    [Fact]
    public async Task DeleteRun_WithSteps_CascadesToItsStepsOnly()
    {
        var doomed = await AddRunAsync();
        var kept = await AddRunAsync();
        await WriteAsync(doomed, Steps(1, 10, loss: _ => 1));
        await WriteAsync(kept, Steps(1, 10, loss: _ => 1));

        await using (var db = _database.CreateContext())
        {
            await db.Runs.Where(r => r.Id == doomed).ExecuteDeleteAsync();
        }

        Assert.Equal([kept.ToString()], await _database.QueryAsync("SELECT DISTINCT RunId FROM StepMetrics"));
        Assert.Equal([kept.ToString()], await _database.QueryAsync("SELECT DISTINCT RunId FROM StepMetricBlocks"));
    }

    [Fact]
    public async Task DeleteAfterAsync_AfterOverwritesSkipsAndGaps_LeavesEveryBlockEqualToItsRows()
    {
        var runId = await AddRunAsync();
        var other = await AddRunAsync();
        await WriteAsync(runId, Steps(1, 1000, loss: s => 1.0 / s));
        await WriteAsync(other, Steps(1, 1000, loss: _ => 99));

        // Overwritten losses must leave their blocks, a skipped (non-finite) one keeps what was stored, a gap has no blocks.
        await WriteAsync(runId, [.. Steps(500, 700, loss: s => 5.0 + (s % 3)).Select(r => r.Step % 50 == 0 ? r with { Loss = double.NaN } : r)]);
        await using (var db = _database.CreateContext())
        {
            // Mid-block, then at a block's first step (640 = 40 × 16), then in a gap: step 1095's block (1088-1103) holds
            // only 1100, so the whole block goes.
            await StepMetricStore.DeleteAfterAsync(db, runId, 605);
            await WriteAsync(runId, Steps(606, 650, loss: s => 3.0 / s));
            await StepMetricStore.DeleteAfterAsync(db, runId, 640);
            await WriteAsync(runId, [new StepRow(1100, 1, 7), new StepRow(1234, 1, 8)]);
            await StepMetricStore.DeleteAfterAsync(db, runId, 1095);
        }

        var rows = await StoredRowsAsync(runId);
        Assert.Equal(640, rows.Count);
        StepOracle.AssertSame(StepOracle.Blocks(runId, rows), await BlocksAsync(runId));
        StepOracle.AssertSame(StepOracle.Blocks(other, await StoredRowsAsync(other)), await BlocksAsync(other));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task QueryAsync_RandomRangesAfterResumeReplays_EqualsBruteForceOverTheRows(int seed)
    {
        var random = new Random(seed);
        var runId = await AddRunAsync();
        var neighbour = await AddRunAsync();
        await WriteAsync(neighbour, Steps(1, 30_000, loss: _ => 99)); // its blocks sit beside the run's and must never mix in
        var stored = new SortedDictionary<long, double>();
        var first = 1 + (1000 * random.Next(3)); // a branch's steps start past its parent's
        var end = first + 20_000;
        await TrainAsync(random, runId, stored, first, end);

        // Resumed from a checkpoint: the steps after it are deleted and trained again, to a different loss.
        var resumeAt = random.NextInt64(first, end);
        await using (var db = _database.CreateContext())
        {
            await StepMetricStore.DeleteAfterAsync(db, runId, resumeAt);
        }

        foreach (var step in stored.Keys.Where(s => s > resumeAt).ToList())
        {
            stored.Remove(step);
        }

        await TrainAsync(random, runId, stored, resumeAt + 1, end + 3000);

        // And replayed without a delete (a crash between a write and its checkpoint): the steps are replaced in place.
        var replayFrom = random.NextInt64(first, end);
        await TrainAsync(random, runId, stored, replayFrom, replayFrom + random.Next(50, 2000));

        var rows = stored.Select(p => (p.Key, p.Value)).ToList();
        Assert.Equal(rows, await StoredRowsAsync(runId));
        var (lowest, highest) = (rows[0].Key, rows[^1].Key);
        for (var i = 0; i < 60; i++)
        {
            var (from, to) = i % 6 == 0 ? (0, long.MaxValue) : Range(random, lowest - 100, highest + 100);
            var span = Math.Min(to, highest) - Math.Max(from, lowest);

            // Every other query is wide, at least 32 steps a bucket: the ranges read from the blocks.
            var buckets = i % 2 == 0 ? random.Next(1, (int)Math.Clamp(span / 32, 1, 5000) + 1) : random.Next(1, 3000);
            var series = await QueryAsync(runId, from, to, buckets);
            StepOracle.AssertSame(StepOracle.Series(rows, from, to, buckets), series, $"seed {seed}, steps {from}..{to} in {buckets} buckets");
        }
    }

    [Fact]
    public async Task QueryAsync_BlocksAlteredBehindTheStore_WideRangeShowsThemNarrowRangeReadsTheRows()
    {
        var runId = await AddRunAsync();
        await WriteAsync(runId, Steps(1, 10_000, loss: _ => 1));

        await _database.QueryAsync($"UPDATE StepMetricBlocks SET Max = 101 WHERE RunId = {runId}");

        // 100 steps a bucket: the blocks inside a bucket stand for their rows, so the altered maximum shows.
        var wide = await QueryAsync(runId, 0, long.MaxValue, 100);
        var narrow = await QueryAsync(runId, 0, long.MaxValue, 1000);
        Assert.Equal(101, wide.Points.Max(p => p.Max));
        Assert.Equal(1, narrow.Points.Max(p => p.Max));
    }

    /// <summary>
    /// Writes steps <paramref name="first"/> to <paramref name="last"/> in batches of the observer's sizes, with spikes,
    /// dips, now and then a non-finite loss (skipped) or a jump over some steps, and records what must be stored.
    /// </summary>
    private async Task TrainAsync(Random random, int runId, SortedDictionary<long, double> stored, long first, long last)
    {
        var step = first;
        while (step <= last)
        {
            var batch = new List<StepRow>();
            for (var n = random.Next(1, 300); n > 0 && step <= last; n--, step++)
            {
                if (random.Next(500) == 0)
                {
                    step += random.Next(1, 100);
                }

                var loss = random.Next(400) switch
                {
                    0 => double.NaN,
                    1 => double.PositiveInfinity,
                    < 5 => 20 + (30 * random.NextDouble()),
                    < 8 => 1e-3 * random.NextDouble(),
                    _ => (2.5 * Math.Exp(-step / 8000.0)) + (0.05 * random.NextDouble()),
                };
                batch.Add(new StepRow(step, 1 + (int)(step / 1000), loss));
                if (double.IsFinite(loss))
                {
                    stored[step] = loss;
                }
            }

            await WriteAsync(runId, batch);
        }
    }

    private static (long From, long To) Range(Random random, long lowest, long highest)
    {
        var a = random.NextInt64(lowest, highest);
        var b = random.NextInt64(lowest, highest);
        return (Math.Max(0, Math.Min(a, b)), Math.Max(a, b));
    }

    private async Task<List<(long Step, double Loss)>> StoredRowsAsync(int runId)
    {
        await using var db = _database.CreateContext();
        var rows = await db.StepMetrics.Where(s => s.RunId == runId).OrderBy(s => s.Step).Select(s => new { s.Step, s.Loss }).ToListAsync();
        return rows.ConvertAll(r => (r.Step, r.Loss));
    }

    private async Task<List<StepMetricBlock>> BlocksAsync(int runId)
    {
        await using var db = _database.CreateContext();
        return await db.StepMetricBlocks.Where(b => b.RunId == runId).OrderBy(b => b.Block).ToListAsync();
    }

    private static StepRow[] Steps(long first, long last, Func<long, double> loss) =>
        [.. Enumerable.Range((int)first, (int)(last - first + 1)).Select(s => new StepRow(s, 1, loss(s)))];

    private async Task WriteAsync(int runId, IReadOnlyList<StepRow> steps)
    {
        await using var db = _database.CreateContext();
        await StepMetricStore.WriteAsync(db, runId, steps);
    }

    private async Task<StepSeries> QueryAsync(int runId, long from, long to, int buckets)
    {
        await using var db = _database.CreateContext();
        return await StepMetricStore.QueryAsync(db, runId, from, to, buckets);
    }

    private async Task<int> AddRunAsync()
    {
        await using var db = _database.CreateContext();
        var run = new Run { Name = "steps", Status = RunStatus.Running, Dataset = "spirals", Model = "mlp", Epochs = 5, ConfigJson = "{}", CreatedAt = DateTime.UtcNow };
        db.Runs.Add(run);
        await db.SaveChangesAsync();
        return run.Id;
    }
}
