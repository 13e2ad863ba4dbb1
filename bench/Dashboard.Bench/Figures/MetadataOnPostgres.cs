using System.Diagnostics;
using Dashboard.Data;
using Dashboard.Data.Postgres;
using Dashboard.ServerProcess;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NpgsqlTypes;

namespace Dashboard.Bench.Figures;

/// <summary>
/// Figure 4 on PostgreSQL (rows 4a-pg–4c-pg): the same <c>RunService</c> calls on a database of the same size and the
/// same rows (<see cref="MetadataRows"/>), made through the PostgreSQL migrations (<c>src/Dashboard.Data.Postgres</c>)
/// in a private cluster (<see cref="PostgresCluster"/>) and filled with binary COPY; same targets as on SQLite.
/// </summary>
internal static class MetadataOnPostgres
{
    private const int SmallRuns = 10;

    public static async Task<IReadOnlyList<FigureResult>> RunAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        if (PostgresCluster.Unavailable is { } reason)
        {
            return Skipped(reason);
        }

        var runs = settings.Pick(1_000, 10_000);

        // fsync off only speeds the bulk load; the figures are reads from a warm cache, which fsync does not touch.
        await using var cluster = await PostgresCluster.StartAsync(PostgresCluster.FindBinaries()!, durable: false, cancellationToken);
        var bigDatabase = await cluster.CreateDatabaseAsync("scale", cancellationToken);
        var smallDatabase = await cluster.CreateDatabaseAsync("small", cancellationToken);

        var generation = Stopwatch.StartNew();
        await GenerateAsync(bigDatabase, runs, cancellationToken);
        var generationSeconds = generation.Elapsed.TotalSeconds;
        await GenerateAsync(smallDatabase, SmallRuns, cancellationToken);

        var reps = settings.Pick(15, 41);
        Dictionary<string, List<double>> big, small;
        Dictionary<string, string> plans;
        await using (var provider = MetadataAtScale.Services(Postgres(bigDatabase)))
        {
            big = await MetadataAtScale.MeasureAsync(provider, runs, reps, cancellationToken);
            plans = await PlansAsync(provider, bigDatabase, runs / 2, cancellationToken);
        }

        await using (var provider = MetadataAtScale.Services(Postgres(smallDatabase)))
        {
            small = await MetadataAtScale.MeasureAsync(provider, SmallRuns, reps, cancellationToken);
        }

        var measured = new MetadataAtScale.Measured(runs, reps, big, small, plans, generationSeconds, await DatabaseBytesAsync(bigDatabase, cancellationToken));
        return MetadataAtScale.Rows("-pg", measured, "the PostgreSQL migrations + binary COPY, then VACUUM ANALYZE", settings.Full);
    }

    /// <summary>The three rows, each saying why it could not be measured here.</summary>
    private static FigureResult[] Skipped(string reason) =>
    [
        .. new[] { ("4a-pg", "newest 50 runs"), ("4b-pg", "one run's 1,000 metric rows"), ("4c-pg", "one run's checkpoints") }.Select(row => new FigureResult
        {
            Id = row.Item1,
            Name = $"Metadata: {row.Item2} on PostgreSQL",
            RatioMeaning = "",
            Target = "as 4a–4c",
            Verdict = FigureResult.Skipped,
            Absolute = $"skipped: {reason}",
        }),
    ];

    private static Action<DbContextOptionsBuilder> Postgres(string connectionString) => options => options.UsePostgresStorage(connectionString);

    /// <summary>
    /// Creates the schema through the PostgreSQL migrations, then loads <see cref="MetadataRows"/> with one binary COPY per
    /// table and runs VACUUM ANALYZE, as autovacuum would have on a database that grew over months: the planner gets its
    /// statistics and index-only scans their visibility map.
    /// </summary>
    private static async Task GenerateAsync(string connectionString, int runs, CancellationToken cancellationToken)
    {
        await using (var provider = MetadataAtScale.Services(Postgres(connectionString)))
        await using (var db = await provider.GetRequiredService<IDbContextFactory<DashboardDbContext>>().CreateDbContextAsync(cancellationToken))
        {
            await DatabaseSetup.MigrateAsync(db, cancellationToken);
        }

        // No command timeout for the load: at --full's 10,000,000 rows, VACUUM ANALYZE (and the end of a COPY) takes
        // longer than Npgsql's default 30 s.
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { CommandTimeout = 0 }.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        // Generated again per table rather than held: at --full the metric rows alone would take gigabytes.
        IEnumerable<T> Rows<T>() => MetadataRows.Generate(runs).OfType<T>();
        await CopyAsync(connection, """
            COPY "Runs" ("Id", "Name", "Status", "Dataset", "Model", "Epochs", "CurrentEpoch", "Device", "ConfigJson", "BestValLoss", "BestValLossEpoch",
                "CreatedAt", "StartedAt", "FinishedAt", "Archived", "CheckpointRequested", "StopRequested", "LeaseToken", "StartStep", "Notes", "Queue", "TagsJson")
            FROM STDIN (FORMAT BINARY)
            """, Rows<MetadataRows.RunRow>(), r =>
        [
            (r.Id, NpgsqlDbType.Integer), (r.Name, NpgsqlDbType.Varchar), (r.Status, NpgsqlDbType.Varchar), (r.Dataset, NpgsqlDbType.Varchar),
            (r.Model, NpgsqlDbType.Varchar), (r.Epochs, NpgsqlDbType.Integer), (r.Epochs, NpgsqlDbType.Integer), ("cpu", NpgsqlDbType.Varchar),
            (r.ConfigJson, NpgsqlDbType.Text), (r.BestValLoss, NpgsqlDbType.Double), (r.BestValLossEpoch, NpgsqlDbType.Integer),
            (r.CreatedAt, NpgsqlDbType.TimestampTz), (r.CreatedAt, NpgsqlDbType.TimestampTz), (r.FinishedAt, NpgsqlDbType.TimestampTz),
            (false, NpgsqlDbType.Boolean), (false, NpgsqlDbType.Boolean), (false, NpgsqlDbType.Boolean), (0L, NpgsqlDbType.Bigint), (0L, NpgsqlDbType.Bigint),
            ("", NpgsqlDbType.Text), ("default", NpgsqlDbType.Varchar), ("[]", NpgsqlDbType.Text),
        ], cancellationToken);
        await CopyAsync(connection, """
            COPY "EpochMetrics" ("RunId", "Epoch", "Step", "Loss", "ValLoss", "Accuracy", "ValAccuracy", "LearningRate", "DurationMs", "SamplesPerSecond", "CreatedAt")
            FROM STDIN (FORMAT BINARY)
            """, Rows<MetadataRows.MetricRow>(), m =>
        [
            (m.RunId, NpgsqlDbType.Integer), (m.Epoch, NpgsqlDbType.Integer), (m.Step, NpgsqlDbType.Bigint),
            (m.Loss, NpgsqlDbType.Double), (m.ValLoss, NpgsqlDbType.Double), (m.Accuracy, NpgsqlDbType.Double), (m.ValAccuracy, NpgsqlDbType.Double),
            (m.LearningRate, NpgsqlDbType.Double), (m.DurationMs, NpgsqlDbType.Double), (m.SamplesPerSecond, NpgsqlDbType.Double), (m.CreatedAt, NpgsqlDbType.TimestampTz),
        ], cancellationToken);
        await CopyAsync(connection, """
            COPY "Checkpoints" ("RunId", "Epoch", "Step", "MetricsJson", "Path", "SizeBytes", "Sha256", "Kind", "Pinned", "Status", "CreatedAt")
            FROM STDIN (FORMAT BINARY)
            """, Rows<MetadataRows.CheckpointRow>(), c =>
        [
            (c.RunId, NpgsqlDbType.Integer), (c.Epoch, NpgsqlDbType.Integer), (c.Step, NpgsqlDbType.Bigint), (c.MetricsJson, NpgsqlDbType.Text),
            (c.Path, NpgsqlDbType.Varchar), (1_048_576L, NpgsqlDbType.Bigint), (c.Sha256, NpgsqlDbType.Varchar), ("periodic", NpgsqlDbType.Varchar),
            (false, NpgsqlDbType.Boolean), ("durable", NpgsqlDbType.Varchar), (c.CreatedAt, NpgsqlDbType.TimestampTz),
        ], cancellationToken);

        // The explicit ids bypassed the identity sequence; a later insert through EF must not collide with them.
        await using (var sequence = new NpgsqlCommand("""SELECT setval(pg_get_serial_sequence('"Runs"', 'Id'), (SELECT max("Id") FROM "Runs"))""", connection))
        {
            await sequence.ExecuteNonQueryAsync(cancellationToken);
        }

        // On its own: VACUUM refuses to run inside a transaction block, which a multi-statement batch would be.
        await using var vacuum = new NpgsqlCommand("VACUUM ANALYZE", connection);
        await vacuum.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>One binary COPY: every row's columns as (value, PostgreSQL type), in the order the statement names them.</summary>
    private static async Task CopyAsync<T>(
        NpgsqlConnection connection, string copy, IEnumerable<T> rows, Func<T, (object Value, NpgsqlDbType Type)[]> columns, CancellationToken cancellationToken)
    {
        await using var writer = await connection.BeginBinaryImportAsync(copy, cancellationToken);
        foreach (var row in rows)
        {
            await writer.StartRowAsync(cancellationToken);
            foreach (var (value, type) in columns(row))
            {
                await writer.WriteAsync(value, type, cancellationToken);
            }
        }

        await writer.CompleteAsync(cancellationToken);
    }

    /// <summary>
    /// EXPLAIN of the SQL EF sends for each query, its parameters put in as literals: Npgsql's ToQueryString writes them
    /// as <c>-- @name='value'</c> comment lines before the statement.
    /// </summary>
    private static async Task<Dictionary<string, string>> PlansAsync(ServiceProvider provider, string connectionString, int runId, CancellationToken cancellationToken)
    {
        var queries = await MetadataAtScale.QueriesAsync(provider, runId, cancellationToken);
        var plans = new Dictionary<string, string>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        foreach (var (key, text) in queries)
        {
            var parameters = new List<(string Name, string Value)>();
            var sql = new List<string>();
            foreach (var line in text.Split('\n'))
            {
                if (line.StartsWith("-- @", StringComparison.Ordinal) && line.IndexOf('=', StringComparison.Ordinal) is > 4 and var equals)
                {
                    var value = line[(equals + 1)..].Trim();
                    var end = value.LastIndexOf('\'');
                    parameters.Add((line[3..equals].Trim(), end > 0 ? value[..(end + 1)] : value));
                }
                else
                {
                    sql.Add(line);
                }
            }

            var statement = string.Join('\n', sql);
            foreach (var (name, value) in parameters.OrderByDescending(p => p.Name.Length))
            {
                statement = statement.Replace(name, value, StringComparison.Ordinal);
            }

            await using var command = new NpgsqlCommand("EXPLAIN " + statement, connection);
            var lines = new List<string>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                lines.Add(reader.GetString(0).Trim());
            }

            plans[key] = string.Join("; ", lines);
        }

        return plans;
    }

    private static async Task<long> DatabaseBytesAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT pg_database_size(current_database())", connection);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
