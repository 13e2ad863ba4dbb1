using System.Diagnostics;
using System.Globalization;
using Dashboard.Data;
using Dashboard.Runs.Events;
using Dashboard.Runs.Logging;
using Dashboard.Runs.Execution;
using Dashboard.Runs.Management;
using Dashboard.Runs.Options;
using Dashboard.Runs.Resilience;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dashboard.Bench.Figures;

/// <summary>
/// Figure 4: the app's own queries (<see cref="RunService"/>) against a database made through the real migrations and
/// filled in bulk, side by side with the same queries against a ten-run database; and the query plans SQLite picks.
/// </summary>
internal static class MetadataAtScale
{
    private const int MetricsPerRun = MetadataRows.MetricsPerRun;
    private const int CheckpointsPerRun = MetadataRows.CheckpointsPerRun;
    private const int SmallRuns = 10;

    /// <summary>The list as it was measured before archiving existed: no condition at all.</summary>
    private static readonly RunFilter AllRuns = new(IncludeArchived: true);

    public static async Task<IReadOnlyList<FigureResult>> RunAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        var runs = settings.Pick(1_000, 10_000);
        var folder = Path.Combine(settings.WorkDirectory, "metadata");
        Directory.CreateDirectory(folder);
        var bigPath = Path.Combine(folder, "scale.db");
        var smallPath = Path.Combine(folder, "small.db");

        var generation = Stopwatch.StartNew();
        await GenerateAsync(bigPath, runs, cancellationToken);
        var generationSeconds = generation.Elapsed.TotalSeconds;
        await GenerateAsync(smallPath, SmallRuns, cancellationToken);
        var fileBytes = new FileInfo(bigPath).Length + (File.Exists(bigPath + "-wal") ? new FileInfo(bigPath + "-wal").Length : 0);

        var reps = settings.Pick(15, 41);
        Dictionary<string, List<double>> big, small;
        await using (var provider = Services(Sqlite(bigPath)))
        {
            big = await MeasureAsync(provider, runs, reps, cancellationToken);
        }

        await using (var provider = Services(Sqlite(smallPath)))
        {
            small = await MeasureAsync(provider, SmallRuns, reps, cancellationToken);
        }

        var plans = await PlansAsync(bigPath, runs / 2, cancellationToken);
        var measured = new Measured(runs, reps, big, small, plans, generationSeconds, fileBytes);
        return Rows("", measured, "SqliteSetup.MigrateAsync + one-transaction prepared inserts", settings.Full);
    }

    /// <summary>What one store's measurement produced: latencies at scale and at <see cref="SmallRuns"/> runs, query plans.</summary>
    internal sealed record Measured(
        int Runs, int Reps, Dictionary<string, List<double>> Big, Dictionary<string, List<double>> Small, Dictionary<string, string> Plans,
        double GenerationSeconds, long DatabaseBytes);

    /// <summary>Rows 4a–4c (with <paramref name="suffix"/>, e.g. "-pg", for another store), with the same targets on every store.</summary>
    internal static IReadOnlyList<FigureResult> Rows(string suffix, Measured measured, string generatedBy, bool full)
    {
        var (runs, reps, big, small, plans) = (measured.Runs, measured.Reps, measured.Big, measured.Small, measured.Plans);
        var store = suffix.Length == 0 ? "" : " on PostgreSQL";
        var scale = string.Create(CultureInfo.InvariantCulture, $"{runs:N0} runs, {(long)runs * MetricsPerRun:N0} metric rows, {runs * CheckpointsPerRun:N0} checkpoints");
        var scaleNote = string.Create(CultureInfo.InvariantCulture,
            $"database{store}: {scale} ({measured.DatabaseBytes / 1048576.0:F0} MiB), generated through {generatedBy} in {measured.GenerationSeconds:F1} s")
            + (full ? "" : " — scaled down for --quick (full: 10,000 runs, 10,000,000 rows)")
            + "; warm page cache; latencies are RunService calls end to end (context, connection from the pool, query, DTOs)";

        FigureResult Row(string id, string name, string key, double targetMs, string? extra = null)
        {
            var atScale = big[key];
            var baseline = small[key];
            var result = new FigureResult
            {
                Id = id + suffix,
                Name = name + store,
                RatioMeaning = $"= median at {runs:N0} runs / median at {SmallRuns} runs",
                Target = string.Create(CultureInfo.InvariantCulture, $"≤ {targetMs:F0} ms"),
                Ratio = Stats.Median(atScale) / Stats.Median(baseline),
                Verdict = FigureResult.Judge(Stats.Median(atScale) <= targetMs),
                Absolute = string.Create(CultureInfo.InvariantCulture,
                    $"median {Stats.Median(atScale):F2} ms (p95 {Stats.Percentile(atScale, 95):F2}) at {scale}; {Stats.Median(baseline):F2} ms at {SmallRuns} runs{extra}"),
            };
            result.Details["repetitions"] = reps;
            result.Details["msAtScale"] = Stats.Round(atScale);
            result.Details["msSmall"] = Stats.Round(baseline);
            result.Details["queryPlan"] = plans[key];
            return result;
        }

        var listAll = big["listAll"];
        var list = Row("4a", "Metadata: newest 50 runs with best valLoss (GET /api/runs?limit=50)", "list50", 50, string.Create(CultureInfo.InvariantCulture,
            $"; the unpaged GET /api/runs (all {runs:N0} runs) takes {Stats.Median(listAll):F1} ms"));
        list.Note = scaleNote;
        list.Details["allRunsMsAtScale"] = Stats.Round(listAll);
        list.Details["allRunsMsSmall"] = Stats.Round(small["listAll"]);
        list.Details["allRunsQueryPlan"] = plans["listAll"];
        list.Details["generationSeconds"] = Stats.Round(measured.GenerationSeconds, 1);
        list.Details["databaseBytes"] = measured.DatabaseBytes;
        list.Details["runs"] = runs;
        list.Details["metricRows"] = (long)runs * MetricsPerRun;
        list.Details["checkpointRows"] = runs * CheckpointsPerRun;
        return
        [
            list,
            Row("4b", "Metadata: one run's 1,000 metric rows (GET /api/runs/{id}/metrics)", "metrics", 20),
            Row("4c", "Metadata: one run's checkpoints (GET /api/runs/{id}/checkpoints)", "checkpoints", 10),
        ];
    }

    /// <summary>Times the app's own RunService calls, interleaved, after two warm-up rounds.</summary>
    internal static async Task<Dictionary<string, List<double>>> MeasureAsync(ServiceProvider provider, int runs, int reps, CancellationToken cancellationToken)
    {
        var service = provider.GetRequiredService<RunService>();
        var random = new Random(4);
        var times = new Dictionary<string, List<double>> { ["list50"] = [], ["listAll"] = [], ["metrics"] = [], ["checkpoints"] = [] };
        async Task Time(string key, Func<Task<int>> query, int expected, bool keep)
        {
            var clock = Stopwatch.StartNew();
            var count = await query();
            var ms = clock.Elapsed.TotalMilliseconds;
            if (count != expected)
            {
                throw new InvalidOperationException($"{key} returned {count} rows, expected {expected}.");
            }

            if (keep)
            {
                times[key].Add(ms);
            }
        }

        // Two warm-up rounds (EF builds its model and compiles the queries), then the measured ones, interleaved.
        for (var i = 0; i < reps + 2; i++)
        {
            var keep = i >= 2;
            var runId = random.Next(1, runs + 1);
            await Time("list50", async () => (await service.ListPageAsync(AllRuns, 50, null, cancellationToken: cancellationToken)).Count, Math.Min(50, runs), keep);
            await Time("metrics", async () => (await service.MetricsAsync(runId, cancellationToken))!.Count, MetricsPerRun, keep);
            await Time("checkpoints", async () => (await service.CheckpointsAsync(runId, cancellationToken))!.Count, CheckpointsPerRun, keep);
            if (i < 2 + Math.Min(reps, 7))
            {
                await Time("listAll", async () => (await service.ListAsync(AllRuns, cancellationToken: cancellationToken)).Count, runs, keep);
            }
        }

        return times;
    }

    /// <summary>EXPLAIN QUERY PLAN of the SQL EF sends for each query.</summary>
    private static async Task<Dictionary<string, string>> PlansAsync(string path, int runId, CancellationToken cancellationToken)
    {
        Dictionary<string, string> queries;
        await using (var provider = Services(Sqlite(path)))
        {
            queries = await QueriesAsync(provider, runId, cancellationToken);
        }

        var plans = new Dictionary<string, string>();
        await using var connection = new SqliteConnection(SqliteSetup.ConnectionString(path));
        await connection.OpenAsync(cancellationToken);
        foreach (var (key, text) in queries)
        {
            await using var command = connection.CreateCommand();
            var sql = new List<string>();
            foreach (var line in text.Split('\n'))
            {
                // ToQueryString writes parameters as ".param set @name value" lines before the SQL.
                if (line.StartsWith(".param set ", StringComparison.Ordinal))
                {
                    var parts = line[".param set ".Length..].Trim().Split(' ', 2);
                    command.Parameters.AddWithValue(parts[0], parts[1].Trim('\''));
                }
                else
                {
                    sql.Add(line);
                }
            }

            command.CommandText = "EXPLAIN QUERY PLAN " + string.Join('\n', sql);
            var details = new List<string>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                details.Add(reader.GetString(3));
            }

            plans[key] = string.Join("; ", details);
        }

        return plans;
    }

    /// <summary>The SQL EF sends for each measured query (ToQueryString: parameters first, then the statement).</summary>
    internal static async Task<Dictionary<string, string>> QueriesAsync(ServiceProvider provider, int runId, CancellationToken cancellationToken)
    {
        await using var db = await provider.GetRequiredService<IDbContextFactory<DashboardDbContext>>().CreateDbContextAsync(cancellationToken);
        return new Dictionary<string, string>
        {
            ["list50"] = db.Runs.AsNoTracking().OrderByDescending(r => r.Id).Take(50).ToQueryString(),
            ["listAll"] = db.Runs.AsNoTracking().OrderByDescending(r => r.Id).ToQueryString(),
            ["metrics"] = db.EpochMetrics.AsNoTracking().Where(m => m.RunId == runId).OrderBy(m => m.Epoch).ToQueryString(),
            ["checkpoints"] = db.Checkpoints.AsNoTracking().Where(c => c.RunId == runId).OrderBy(c => c.Step).ThenBy(c => c.Id).ToQueryString(),
        };
    }

    internal static Action<DbContextOptionsBuilder> Sqlite(string path) => options => options.UseDashboardSqlite(SqliteSetup.ConnectionString(path));

    /// <summary>The core's services RunService needs, on the database <paramref name="store"/> points at.</summary>
    internal static ServiceProvider Services(Action<DbContextOptionsBuilder> store)
    {
        var services = new ServiceCollection();
        services.AddDbContextFactory<DashboardDbContext>(store);
        services.AddSingleton(_ => Dashboard.Engine.Datasets.DatasetRegistry.CreateDefault());
        services.AddSingleton(_ => Dashboard.Engine.Models.ModelRegistry.CreateDefault());
        // The queue sizes what it holds by the training slots; the defaults are the app's.
        services.AddSingleton(Microsoft.Extensions.Options.Options.Create(new TrainingOptions()));
        services.AddSingleton<RunQueue>();
        services.AddSingleton(new TrainingEventBroadcaster(NullLogger<TrainingEventBroadcaster>.Instance));
        // RunService logs stop requests; the figures never stop a run, but the service needs its log to be built.
        services.AddSingleton(Microsoft.Extensions.Options.Options.Create(new RunLogOptions()));
        services.AddSingleton<ILogger<RunLog>>(NullLogger<RunLog>.Instance);
        // The run log's writer waits out a database that is away; nothing here ever is, but it is built with the retry.
        services.AddSingleton<LiveFeedState>();
        services.AddSingleton<ILogger<DatabaseRetry>>(NullLogger<DatabaseRetry>.Instance);
        services.AddSingleton<DatabaseReachability>();
        services.AddSingleton<DatabaseRetry>();
        services.AddSingleton<RunLog>();
        // RunService reads whether a run's lease is held (a stop goes to its holder); no run here is ever leased.
        services.AddSingleton(Microsoft.Extensions.Options.Options.Create(new WorkerOptions()));
        services.AddSingleton<ILogger<RunLease>>(NullLogger<RunLease>.Instance);
        services.AddSingleton<RunLease>();
        services.AddSingleton<RunService>();
        return services.BuildServiceProvider();
    }

    /// <summary>
    /// Creates the schema through the app's migrations, then fills it in one transaction with prepared statements with
    /// the rows of <see cref="MetadataRows"/>.
    /// </summary>
    private static async Task GenerateAsync(string path, int runs, CancellationToken cancellationToken)
    {
        foreach (var file in new[] { path, path + "-wal", path + "-shm" })
        {
            File.Delete(file);
        }

        await using (var provider = Services(Sqlite(path)))
        await using (var db = await provider.GetRequiredService<IDbContextFactory<DashboardDbContext>>().CreateDbContextAsync(cancellationToken))
        {
            await SqliteSetup.MigrateAsync(db, cancellationToken);
        }

        await using var connection = new SqliteConnection(SqliteSetup.ConnectionString(path));
        await connection.OpenAsync(cancellationToken);
        await using (var pragma = connection.CreateCommand())
        {
            pragma.CommandText = "PRAGMA synchronous=OFF;";
            await pragma.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using var insertRun = Prepare(connection, transaction,
            """
            INSERT INTO Runs (Id, Name, Status, Dataset, Model, Epochs, CurrentEpoch, Device, ConfigJson, BestValLoss, BestValLossEpoch, CreatedAt, StartedAt, FinishedAt)
            VALUES ($id, $name, $status, $dataset, $model, $epochs, $epochs, 'cpu', $config, $best, $bestEpoch, $created, $created, $finished)
            """,
            "$id", "$name", "$status", "$dataset", "$model", "$epochs", "$config", "$best", "$bestEpoch", "$created", "$finished");
        await using var insertMetric = Prepare(connection, transaction,
            """
            INSERT INTO EpochMetrics (RunId, Epoch, Step, Loss, ValLoss, Accuracy, ValAccuracy, LearningRate, DurationMs, SamplesPerSecond, CreatedAt)
            VALUES ($run, $epoch, $step, $loss, $valLoss, $accuracy, $valAccuracy, $lr, $duration, $sps, $created)
            """,
            "$run", "$epoch", "$step", "$loss", "$valLoss", "$accuracy", "$valAccuracy", "$lr", "$duration", "$sps", "$created");
        await using var insertCheckpoint = Prepare(connection, transaction,
            """
            INSERT INTO Checkpoints (RunId, Epoch, Step, MetricsJson, Path, SizeBytes, Sha256, Kind, Pinned, Status, CreatedAt)
            VALUES ($run, $epoch, $step, $metrics, $path, 1048576, $sha, 'periodic', 0, 'durable', $created)
            """,
            "$run", "$epoch", "$step", "$metrics", "$path", "$sha", "$created");

        foreach (var row in MetadataRows.Generate(runs))
        {
            var command = row switch
            {
                MetadataRows.RunRow r => Set(insertRun, r.Id, r.Name, r.Status, r.Dataset, r.Model, r.Epochs, r.ConfigJson, r.BestValLoss, r.BestValLossEpoch, r.CreatedAt, r.FinishedAt),
                MetadataRows.MetricRow m => Set(insertMetric, m.RunId, m.Epoch, m.Step, m.Loss, m.ValLoss, m.Accuracy, m.ValAccuracy, m.LearningRate, m.DurationMs, m.SamplesPerSecond, m.CreatedAt),
                MetadataRows.CheckpointRow c => Set(insertCheckpoint, c.RunId, c.Epoch, c.Step, c.MetricsJson, c.Path, c.Sha256, c.CreatedAt),
                _ => throw new InvalidOperationException($"Unexpected row {row}."),
            };
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        await using var checkpoint = connection.CreateCommand();
        checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
        await checkpoint.ExecuteNonQueryAsync(cancellationToken);
    }

    private static SqliteCommand Prepare(SqliteConnection connection, SqliteTransaction transaction, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        command.Prepare();
        return command;
    }

    private static SqliteCommand Set(SqliteCommand command, params object[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i];
        }

        return command;
    }
}
