using System.Data.Common;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Data;

/// <summary>One step's loss on its way to the database: a struct, so buffering a run's steps allocates nothing per step.</summary>
public readonly record struct StepRow(long Step, int Epoch, double Loss);

/// <summary>
/// A point of a per-step curve. Downsampled, it stands for one bucket: its first step, the mean loss and the lowest and
/// highest loss of the <see cref="Count"/> steps in it, so a spike in any of them survives. Raw, it is one step
/// (<see cref="Min"/> = <see cref="Max"/> = <see cref="Loss"/>, <see cref="Count"/> = 1).
/// </summary>
public readonly record struct StepPoint(long Step, double Loss, double Min, double Max, int Count);

/// <summary>A run's steps between two step numbers, whole or in buckets.</summary>
/// <param name="Total">Steps stored in the range.</param>
/// <param name="First">The first stored step in the range; null when there is none.</param>
/// <param name="Last">The last stored step in the range; null when there is none.</param>
/// <param name="Downsampled">True when the points are buckets rather than the steps themselves.</param>
public sealed record StepSeries(long Total, long? First, long? Last, bool Downsampled, IReadOnlyList<StepPoint> Points);

/// <summary>
/// Per-step losses in SQLite or PostgreSQL (<see cref="StepMetricSql"/> holds what the two spell differently), written and read with prepared statements on EF's connection rather than as tracked
/// entities: a run has 100,000s of them, more than change tracking is made for. Beside the rows the store keeps a roll-up
/// per block of <see cref="BlockSize"/> steps (<see cref="Entities.StepMetricBlock"/>: first step, count, sum, lowest and
/// highest loss), rebuilt from the rows in the same transaction as every change to them, so a wide range is bucketed from
/// its blocks and only the rows of blocks a bucket edge cuts are read one by one.
/// </summary>
public static class StepMetricStore
{
    /// <summary>
    /// A step's block is <c>Step &gt;&gt; BlockShift</c>. The migration that created the blocks filled them with this shift,
    /// so changing it needs a migration that rebuilds them.
    /// </summary>
    public const int BlockShift = 4;

    /// <summary>
    /// Steps per block. A wide range reads one row per block plus the rows of every block a bucket edge cuts, and 16
    /// keeps the sum near its least: at 200,000 steps in 2,000 buckets 12,500 blocks and 32,000 rows (8: 25,000 and
    /// 16,000, a block row costing more to read than a step row; 32: 6,250 and 64,000).
    /// </summary>
    public const long BlockSize = 1L << BlockShift;

    /// <summary>
    /// Average steps per bucket from which a range is bucketed from its blocks; below it a bucket spans too few blocks to
    /// save reading its rows, and one GROUP BY over the rows is cheap at that size.
    /// </summary>
    private const int RollUpStepsPerBucket = 32;

    /// <summary>
    /// Inserts the steps in one transaction; a step already stored (replayed after a resume) is replaced, so a run never
    /// holds a step twice. Non-finite losses are skipped: SQLite would store NaN as NULL, and the trainer stops before
    /// reporting one anyway. The blocks between the first and last step written are rebuilt from their rows (an
    /// overwritten step cannot just be added to its block), in the same transaction, so a reader never sees them disagree.
    /// </summary>
    /// <param name="leaseToken">The training process's fencing token: the write happens only while the run still holds it
    /// (<see cref="RunFence"/>), checked in the same transaction; null for writers that hold no lease (imports, tests).</param>
    public static Task WriteAsync(
        DashboardDbContext db, int runId, IReadOnlyList<StepRow> steps, CancellationToken cancellationToken = default, long? leaseToken = null)
    {
        if (steps.Count == 0)
        {
            return Task.CompletedTask;
        }

        var sql = StepMetricSql.For(db);
        return InTransactionAsync(db, sql, readOnly: false, (connection, transaction) =>
        {
            if (leaseToken is { } token)
            {
                RunFence.Check(connection, transaction, runId, token);
            }

            var (lowest, highest) = sql.Insert(connection, transaction, runId, steps);

            // A batch is a run of consecutive steps, so its span holds just the blocks it touched.
            if (lowest <= highest)
            {
                RebuildBlocks(connection, transaction, runId, lowest, highest);
            }

            return 0;
        }, cancellationToken);
    }

    /// <summary>Removes the run's steps after <paramref name="step"/>: they are about to be trained again. Returns how many.</summary>
    public static Task<int> DeleteAfterAsync(
        DashboardDbContext db, int runId, long step, CancellationToken cancellationToken = default, long? leaseToken = null) =>
        InTransactionAsync(db, StepMetricSql.For(db), readOnly: false, (connection, transaction) =>
        {
            if (leaseToken is { } token)
            {
                RunFence.Check(connection, transaction, runId, token);
            }

            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            StepMetricSql.Add(command, "@run", runId);
            StepMetricSql.Add(command, "@step", step);
            command.CommandText = """DELETE FROM "StepMetrics" WHERE "RunId" = @run AND "Step" > @step""";
            var deleted = command.ExecuteNonQuery();

            // The step's own block may keep some of its rows: it is dropped with the ones after it and rebuilt.
            command.CommandText = $"""DELETE FROM "StepMetricBlocks" WHERE "RunId" = @run AND "Block" >= (@step >> {BlockShift})""";
            command.ExecuteNonQuery();
            RebuildBlocks(connection, transaction, runId, step, step);
            return deleted;
        }, cancellationToken);

    /// <summary>
    /// The run's steps in [<paramref name="from"/>, <paramref name="to"/>]: every one when there are at most
    /// <paramref name="buckets"/>, else one point per bucket, aggregated without any step becoming an entity. The stored
    /// steps' extent [first, last] is cut into <paramref name="buckets"/> equal spans, a step going to bucket
    /// <c>min(buckets - 1, (step - first) * buckets / (last - first))</c>: the same buckets <c>Downsampler</c> uses for a
    /// chart of that many pixels. Every point is exact (first step, mean, lowest, highest, count of its rows), however it
    /// was read.
    /// </summary>
    public static Task<StepSeries> QueryAsync(DashboardDbContext db, int runId, long from, long to, int buckets, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(buckets, 1);

        // One read transaction: every statement below sees the same rows and blocks, whatever a writer does meanwhile.
        var sql = StepMetricSql.For(db);
        return InTransactionAsync(db, sql, readOnly: true, (connection, transaction) =>
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            StepMetricSql.Add(command, "@run", runId);
            var lo = StepMetricSql.Add(command, "@from", from);
            var hi = StepMetricSql.Add(command, "@to", to);

            // Two subqueries, each one step down the key: MIN and MAX together, or beside COUNT, would walk the range.
            command.CommandText = """
                SELECT (SELECT MIN("Step") FROM "StepMetrics" WHERE "RunId" = @run AND "Step" BETWEEN @from AND @to),
                       (SELECT MAX("Step") FROM "StepMetrics" WHERE "RunId" = @run AND "Step" BETWEEN @from AND @to)
                """;
            long first, last;
            using (var reader = command.ExecuteReader())
            {
                reader.Read();
                if (reader.IsDBNull(0))
                {
                    return new StepSeries(0, null, null, false, []);
                }

                (first, last) = (reader.GetInt64(0), reader.GetInt64(1));
            }

            (lo.Value, hi.Value) = (first, last);
            var grid = new BucketGrid(first, last - first, buckets);
            if (last - first + 1 >= RollUpStepsPerBucket * (long)buckets)
            {
                var (total, points) = ReadBlockBuckets(command, sql, grid);
                if (total > buckets)
                {
                    return new StepSeries(total, first, last, true, points);
                }

                // A range with wide gaps between its steps: few enough to send them all.
                return new StepSeries(total, first, last, false, ReadSteps(command));
            }

            command.CommandText = """SELECT COUNT(*) FROM "StepMetrics" WHERE "RunId" = @run AND "Step" BETWEEN @from AND @to""";
            var count = (long)command.ExecuteScalar()!;
            if (count <= buckets)
            {
                return new StepSeries(count, first, last, false, ReadSteps(command));
            }

            // Few steps per bucket: one GROUP BY over the rows, whose sort is cheap at this size.
            StepMetricSql.Add(command, "@buckets", (long)buckets);
            StepMetricSql.Add(command, "@span", grid.Span);
            command.CommandText = $"""
                SELECT MIN("Step"), AVG("Loss"), MIN("Loss"), MAX("Loss"), COUNT(*) FROM "StepMetrics"
                WHERE "RunId" = @run AND "Step" BETWEEN @from AND @to
                GROUP BY {sql.Least}(@buckets - 1, ("Step" - @from) * @buckets / @span)
                ORDER BY 1
                """;
            var grouped = new List<StepPoint>(buckets);
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    grouped.Add(new StepPoint(reader.GetInt64(0), reader.GetDouble(1), reader.GetDouble(2), reader.GetDouble(3), (int)reader.GetInt64(4)));
                }
            }

            return new StepSeries(count, first, last, true, grouped);
        }, cancellationToken);
    }

    /// <summary>
    /// Buckets [@from, @to] from the blocks wholly inside one bucket, and from the rows of the rest: the blocks a bucket
    /// edge cuts and the two at the ends of the range, which may hold steps outside it.
    /// </summary>
    private static (long Total, List<StepPoint> Points) ReadBlockBuckets(DbCommand command, StepMetricSql sql, BucketGrid grid)
    {
        var firstBlock = grid.First >> BlockShift;
        var lastBlock = (grid.First + grid.Span) >> BlockShift;
        var cut = new List<long> { firstBlock };
        for (var bucket = 1L; bucket < grid.Count; bucket++)
        {
            var start = grid.Start(bucket);
            if ((start & (BlockSize - 1)) != 0 && start >> BlockShift != cut[^1])
            {
                cut.Add(start >> BlockShift);
            }
        }

        if (lastBlock != cut[^1])
        {
            cut.Add(lastBlock);
        }

        var sums = new BucketSums(grid.Count);
        command.CommandText = """
            SELECT "Block", "FirstStep", "Count", "Sum", "Min", "Max" FROM "StepMetricBlocks"
            WHERE "RunId" = @run AND "Block" BETWEEN @firstBlock AND @lastBlock ORDER BY "Block"
            """;
        StepMetricSql.Add(command, "@firstBlock", firstBlock);
        StepMetricSql.Add(command, "@lastBlock", lastBlock);
        using (var reader = command.ExecuteReader())
        {
            // Both in block order: the cut blocks' aggregates are passed over, their rows come next.
            var next = 0;
            while (reader.Read())
            {
                var block = reader.GetInt64(0);
                while (next < cut.Count && cut[next] < block)
                {
                    next++;
                }

                if (next < cut.Count && cut[next] == block)
                {
                    continue;
                }

                var firstStep = reader.GetInt64(1);
                sums.Add(grid.Of(firstStep), firstStep, reader.GetInt32(2), reader.GetDouble(3), reader.GetDouble(4), reader.GetDouble(5));
            }
        }

        command.CommandText = sql.RowsOfBlocks;
        sql.AddBlocks(command, cut);
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var step = reader.GetInt64(0);
                var loss = reader.GetDouble(1);
                sums.Add(grid.Of(step), step, 1, loss, loss, loss);
            }
        }

        return (sums.Total, sums.ToPoints());
    }

    /// <summary>Every step in [@from, @to], in order.</summary>
    private static List<StepPoint> ReadSteps(DbCommand command)
    {
        command.CommandText = """SELECT "Step", "Loss" FROM "StepMetrics" WHERE "RunId" = @run AND "Step" BETWEEN @from AND @to ORDER BY "Step" """;
        var points = new List<StepPoint>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var loss = reader.GetDouble(1);
            points.Add(new StepPoint(reader.GetInt64(0), loss, loss, loss, 1));
        }

        return points;
    }

    /// <summary>Rebuilds the blocks holding steps <paramref name="lowest"/> to <paramref name="highest"/>, whole.</summary>
    private static void RebuildBlocks(DbConnection connection, DbTransaction transaction, int runId, long lowest, long highest)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = StepMetricSql.RebuildBlocks;
        StepMetricSql.Add(command, "@run", runId);
        StepMetricSql.Add(command, "@lo", lowest >> BlockShift << BlockShift);
        StepMetricSql.Add(command, "@hi", (highest >> BlockShift << BlockShift) + BlockSize - 1);
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// Runs <paramref name="work"/> in one transaction on EF's connection and commits it. Microsoft.Data.Sqlite runs
    /// statements synchronously whatever the API, so the work is synchronous: the async forms would only add a task per
    /// statement. On PostgreSQL a write is one statement and a read a handful, so the blocking is short there too. A
    /// cancellation is honoured before the commit: a write cancelled midway leaves nothing behind.
    /// </summary>
    private static async Task<T> InTransactionAsync<T>(DashboardDbContext db, StepMetricSql sql, bool readOnly, Func<DbConnection, DbTransaction, T> work, CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var connection = db.Database.GetDbConnection();
            using var transaction = sql.Begin(connection, readOnly);
            var result = work(connection, transaction);
            cancellationToken.ThrowIfCancellationRequested();
            transaction.Commit();
            return result;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}
