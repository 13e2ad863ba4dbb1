using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Management;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.Bench.Figures;

/// <summary>
/// Figure 6b: what <c>GET /api/runs/{id}/steps</c> costs at 200,000 stored steps: <see cref="RunService.StepsAsync"/>
/// (one bucket per pixel, from the store's 16-step blocks and the rows at bucket edges) plus the JSON of its answer, for
/// charts 1,200–2,000 px wide, against reading every step of the run and writing all of them as JSON.
/// </summary>
internal static class StepsRoute
{
    private const int Steps = 200_000;
    private const double MaxMillisecondsTarget = 100;
    private static readonly int[] Widths = [1200, 1600, 2000];

    public static async Task<FigureResult> RunAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        var result = new FigureResult
        {
            Id = "6b",
            Name = "Per-step route: GET /api/runs/{id}/steps at 200,000 steps (buckets per pixel, in SQLite)",
            RatioMeaning = "= median time of the downsampled answer at 2,000 px / median time to read and serialise every step",
            Target = string.Create(CultureInfo.InvariantCulture, $"≤ {MaxMillisecondsTarget:F0} ms"),
        };

        var folder = Path.Combine(settings.WorkDirectory, "steps");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "steps.db");
        await using var provider = MetadataAtScale.Services(MetadataAtScale.Sqlite(path));
        var factory = provider.GetRequiredService<IDbContextFactory<DashboardDbContext>>();
        var runId = await SeedAsync(factory, cancellationToken);
        var service = provider.GetRequiredService<RunService>();

        var reps = settings.Pick(9, 31);
        var perWidth = new List<Dictionary<string, object?>>();
        var times = new Dictionary<int, List<double>>();
        var bytes = new Dictionary<int, int>();
        var raw = new List<double>();
        var rawBytes = 0;

        // Interleaved, two warm-up rounds first (EF's model, the page cache).
        for (var i = 0; i < reps + 2; i++)
        {
            foreach (var width in Widths)
            {
                var clock = Stopwatch.StartNew();
                var answer = await service.StepsAsync(runId, 0, long.MaxValue, width, cancellationToken)
                    ?? throw new InvalidOperationException($"Run {runId} vanished.");
                var json = JsonSerializer.SerializeToUtf8Bytes(answer, JsonDefaults.Options);
                if (i >= 2)
                {
                    times.TryAdd(width, []);
                    times[width].Add(clock.Elapsed.TotalMilliseconds);
                }

                bytes[width] = json.Length;
                if (answer.Total != Steps || answer.Points.Count > width)
                {
                    throw new InvalidOperationException($"{width} px: {answer.Points.Count} points for {answer.Total} steps.");
                }
            }

            var rawClock = Stopwatch.StartNew();
            rawBytes = await AllStepsJsonLengthAsync(path, runId, cancellationToken);
            if (i >= 2)
            {
                raw.Add(rawClock.Elapsed.TotalMilliseconds);
            }
        }

        foreach (var width in Widths)
        {
            perWidth.Add(new()
            {
                ["widthPx"] = width,
                ["msMedian"] = Stats.Round(Stats.Median(times[width])),
                ["msMax"] = Stats.Round(Stats.Max(times[width])),
                ["jsonBytes"] = bytes[width],
            });
        }

        var widest = Stats.Median(times[Widths[^1]]);
        var worst = Widths.Max(w => Stats.Median(times[w]));
        result.Ratio = widest / Stats.Median(raw);
        result.Verdict = FigureResult.Judge(worst <= MaxMillisecondsTarget);
        result.Absolute = string.Create(CultureInfo.InvariantCulture,
            $"at 2,000 px: {widest:F1} ms, {bytes[Widths[^1]] / 1024.0:F0} KiB; worst median {worst:F1} ms over 1,200/1,600/2,000 px; every step: {Stats.Median(raw):F0} ms, {rawBytes / 1048576.0:F1} MiB JSON");
        result.Details["steps"] = Steps;
        result.Details["repetitions"] = reps;
        result.Details["widths"] = perWidth;
        result.Details["allStepsMs"] = Stats.Round(raw);
        result.Details["allStepsJsonBytes"] = rawBytes;
        return result;
    }

    /// <summary>A run with <see cref="Steps"/> steps, written by the observer's own batch writer in one go.</summary>
    private static async Task<int> SeedAsync(IDbContextFactory<DashboardDbContext> factory, CancellationToken cancellationToken)
    {
        await using var db = await factory.CreateDbContextAsync(cancellationToken);
        await SqliteSetup.MigrateAsync(db, cancellationToken);
        var run = new Run { Name = "bench-steps", Status = RunStatus.Completed, Dataset = "mnist", Model = "mlp", Epochs = 200, ConfigJson = "{}", CreatedAt = DateTime.UtcNow };
        db.Runs.Add(run);
        await db.SaveChangesAsync(cancellationToken);
        var random = new Random(62);
        var rows = new StepRow[Steps];
        for (var i = 0; i < Steps; i++)
        {
            rows[i] = new StepRow(i + 1, 1 + (i / 1000), (2.3 * Math.Exp(-i / 40_000.0)) + (0.05 * random.NextDouble()) + (random.Next(10_000) == 0 ? 1.5 : 0));
        }

        await StepMetricStore.WriteAsync(db, run.Id, rows, cancellationToken);
        return run.Id;
    }

    /// <summary>What a route without downsampling would do: read every step of the run and write them all as JSON.</summary>
    private static async Task<int> AllStepsJsonLengthAsync(string path, int runId, CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection(SqliteSetup.ConnectionString(path));
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT Step, Loss FROM StepMetrics WHERE RunId = $run ORDER BY Step";
        command.Parameters.AddWithValue("$run", runId);
        var points = new List<StepPointDto>(Steps);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var loss = reader.GetDouble(1);
                points.Add(new StepPointDto(reader.GetInt64(0), loss, loss, loss, 1));
            }
        }

        return JsonSerializer.SerializeToUtf8Bytes(points, JsonDefaults.Options).Length;
    }
}
