using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dashboard.Data;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Policies;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Logging;
using Dashboard.Runs.Execution;
using Dashboard.Runs.Management;
using Dashboard.Runs.Options;
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
    private const int MetricsPerRun = 1_000;
    private const int CheckpointsPerRun = 10;
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
        var big = await MeasureAsync(bigPath, runs, reps, cancellationToken);
        var small = await MeasureAsync(smallPath, SmallRuns, reps, cancellationToken);
        var plans = await PlansAsync(bigPath, runs / 2, cancellationToken);

        var scale = string.Create(CultureInfo.InvariantCulture, $"{runs:N0} runs, {(long)runs * MetricsPerRun:N0} metric rows, {runs * CheckpointsPerRun:N0} checkpoints");
        var scaleNote = string.Create(CultureInfo.InvariantCulture,
            $"database: {scale} ({fileBytes / 1048576.0:F0} MiB), generated through SqliteSetup.MigrateAsync + one-transaction prepared inserts in {generationSeconds:F1} s")
            + (settings.Full ? "" : " — scaled down for --quick (full: 10,000 runs, 10,000,000 rows)")
            + "; warm page cache; latencies are RunService calls end to end (context, connection from the pool, query, DTOs)";

        FigureResult Row(string id, string name, string key, double targetMs, string? extra = null)
        {
            var atScale = big[key];
            var baseline = small[key];
            var result = new FigureResult
            {
                Id = id,
                Name = name,
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
        list.Details["generationSeconds"] = Stats.Round(generationSeconds, 1);
        list.Details["databaseBytes"] = fileBytes;
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

    private static async Task<Dictionary<string, List<double>>> MeasureAsync(string path, int runs, int reps, CancellationToken cancellationToken)
    {
        await using var provider = Services(path);
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
        await using var provider = Services(path);
        await using var db = await provider.GetRequiredService<IDbContextFactory<DashboardDbContext>>().CreateDbContextAsync(cancellationToken);
        var queries = new Dictionary<string, string>
        {
            ["list50"] = db.Runs.AsNoTracking().OrderByDescending(r => r.Id).Take(50).ToQueryString(),
            ["listAll"] = db.Runs.AsNoTracking().OrderByDescending(r => r.Id).ToQueryString(),
            ["metrics"] = db.EpochMetrics.AsNoTracking().Where(m => m.RunId == runId).OrderBy(m => m.Epoch).ToQueryString(),
            ["checkpoints"] = db.Checkpoints.AsNoTracking().Where(c => c.RunId == runId).OrderBy(c => c.Step).ThenBy(c => c.Id).ToQueryString(),
        };
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

    internal static ServiceProvider Services(string path)
    {
        var services = new ServiceCollection();
        services.AddDbContextFactory<DashboardDbContext>(options => options.UseSqlite(SqliteSetup.ConnectionString(path)));
        services.AddSingleton(_ => Dashboard.Engine.Datasets.DatasetRegistry.CreateDefault());
        services.AddSingleton(_ => Dashboard.Engine.Models.ModelRegistry.CreateDefault());
        // The queue sizes what it holds by the training slots; the defaults are the app's.
        services.AddSingleton(Microsoft.Extensions.Options.Options.Create(new TrainingOptions()));
        services.AddSingleton<RunQueue>();
        services.AddSingleton(new TrainingEventBroadcaster(NullLogger<TrainingEventBroadcaster>.Instance));
        // RunService logs stop requests; the figures never stop a run, but the service needs its log to be built.
        services.AddSingleton(Microsoft.Extensions.Options.Options.Create(new RunLogOptions()));
        services.AddSingleton<ILogger<RunLog>>(NullLogger<RunLog>.Instance);
        services.AddSingleton<RunLog>();
        // RunService reads whether a run's lease is held (a stop goes to its holder); no run here is ever leased.
        services.AddSingleton(Microsoft.Extensions.Options.Options.Create(new WorkerOptions()));
        services.AddSingleton<ILogger<RunLease>>(NullLogger<RunLease>.Instance);
        services.AddSingleton<RunLease>();
        services.AddSingleton<RunService>();
        return services.BuildServiceProvider();
    }

    /// <summary>
    /// Creates the schema through the app's migrations, then fills it in one transaction with prepared statements: runs
    /// with real configs, <see cref="MetricsPerRun"/> epochs each, and <see cref="CheckpointsPerRun"/> checkpoints each.
    /// </summary>
    private static async Task GenerateAsync(string path, int runs, CancellationToken cancellationToken)
    {
        foreach (var file in new[] { path, path + "-wal", path + "-shm" })
        {
            File.Delete(file);
        }

        await using (var provider = Services(path))
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

        var random = new Random(runs);
        var start = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        string[] statuses = ["completed", "completed", "completed", "stopped", "failed", "interrupted"];
        for (var run = 1; run <= runs; run++)
        {
            var mnist = run % 3 != 0;
            var config = new TrainingConfig
            {
                Dataset = mnist ? "mnist" : "spirals",
                Model = mnist && run % 2 == 0 ? "cnn" : "mlp",
                Epochs = MetricsPerRun,
                Seed = run,
                Checkpoint = new CheckpointPolicy { EveryEpochs = MetricsPerRun / CheckpointsPerRun },
            };
            var created = start.AddMinutes(run * 30);
            var bestEpoch = random.Next(MetricsPerRun / 2, MetricsPerRun + 1);
            Set(insertRun, run, $"{config.Model}-{config.Dataset}-bench-{run:D5}", statuses[run % statuses.Length], config.Dataset, config.Model,
                MetricsPerRun, RunConfigCodec.Write(config), 0.05 + (random.NextDouble() * 0.1), bestEpoch, created, created.AddMinutes(25));
            await insertRun.ExecuteNonQueryAsync(cancellationToken);

            for (var epoch = 1; epoch <= MetricsPerRun; epoch++)
            {
                var loss = (2.3 * Math.Exp(-epoch / 150.0)) + 0.05 + (random.NextDouble() * 0.01);
                Set(insertMetric, run, epoch, epoch * 127L, loss, loss * 1.1, 1 - (loss / 2.5), 1 - (loss / 2.3), 0.001, 1500.0 + random.Next(100), 5400.0 + random.Next(200),
                    created.AddSeconds(epoch * 1.5));
                await insertMetric.ExecuteNonQueryAsync(cancellationToken);
            }

            for (var k = 1; k <= CheckpointsPerRun; k++)
            {
                var epoch = k * (MetricsPerRun / CheckpointsPerRun);
                var metrics = JsonSerializer.Serialize(new Dictionary<string, double>
                {
                    ["loss"] = 0.1,
                    ["valLoss"] = 0.12 + (random.NextDouble() * 0.01),
                    ["accuracy"] = 0.97,
                    ["valAccuracy"] = 0.96,
                    ["learningRate"] = 0.001,
                });
                Set(insertCheckpoint, run, epoch, epoch * 127L, metrics, $"run-{run:D6}/epoch{epoch:D3}-periodic", Convert.ToHexStringLower(BitConverter.GetBytes(random.NextInt64())).PadRight(64, '0'),
                    created.AddSeconds(epoch * 1.5));
                await insertCheckpoint.ExecuteNonQueryAsync(cancellationToken);
            }
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

    private static void Set(SqliteCommand command, params object[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i];
        }
    }
}
