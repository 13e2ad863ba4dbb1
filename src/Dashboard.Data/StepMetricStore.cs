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
/// Per-step losses in SQLite, written and read with prepared statements on EF's connection rather than as tracked
/// entities: a run has 100,000s of them, more than change tracking is made for.
/// </summary>
public static class StepMetricStore
{
    /// <summary>Average rows per bucket from which a range is aggregated bucket by bucket rather than by one GROUP BY.</summary>
    private const int DenseRowsPerBucket = 32;

    /// <summary>
    /// Inserts the steps in one transaction; a step already stored (replayed after a resume) is replaced, so a run never
    /// holds a step twice. Non-finite losses are skipped: SQLite would store NaN as NULL, and the trainer stops before
    /// reporting one anyway.
    /// </summary>
    public static async Task WriteAsync(DashboardDbContext db, int runId, IReadOnlyList<StepRow> steps, CancellationToken cancellationToken = default)
    {
        if (steps.Count == 0)
        {
            return;
        }

        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var connection = db.Database.GetDbConnection();
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO StepMetrics (RunId, Step, Epoch, Loss) VALUES ($run, $step, $epoch, $loss)
                ON CONFLICT (RunId, Step) DO UPDATE SET Epoch = excluded.Epoch, Loss = excluded.Loss
                """;
            AddParameter(command, "$run", runId);
            var step = AddParameter(command, "$step", 0L);
            var epoch = AddParameter(command, "$epoch", 0);
            var loss = AddParameter(command, "$loss", 0.0);
            command.Prepare();
            foreach (var row in steps)
            {
                if (!double.IsFinite(row.Loss))
                {
                    continue;
                }

                step.Value = row.Step;
                epoch.Value = row.Epoch;
                loss.Value = row.Loss;

                // Microsoft.Data.Sqlite runs statements synchronously either way; the async form would only add a task per row.
#pragma warning disable CA1849
                command.ExecuteNonQuery();
#pragma warning restore CA1849
            }

            await transaction.CommitAsync(cancellationToken);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>Removes the run's steps after <paramref name="step"/>: they are about to be trained again.</summary>
    public static Task<int> DeleteAfterAsync(DashboardDbContext db, int runId, long step, CancellationToken cancellationToken = default) =>
        db.StepMetrics.Where(s => s.RunId == runId && s.Step > step).ExecuteDeleteAsync(cancellationToken);

    /// <summary>
    /// The run's steps in [<paramref name="from"/>, <paramref name="to"/>]: every one when there are at most
    /// <paramref name="buckets"/>, else one point per bucket, aggregated by SQLite so no more than
    /// <paramref name="buckets"/> rows leave the database and none becomes an entity. The stored steps' extent [first, last] is cut into
    /// <paramref name="buckets"/> equal spans, a step going to bucket <c>min(buckets - 1, (step - first) * buckets / (last - first))</c>:
    /// the same buckets <c>Downsampler</c> uses for a chart of that many pixels.
    /// </summary>
    public static async Task<StepSeries> QueryAsync(DashboardDbContext db, int runId, long from, long to, int buckets, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(buckets, 1);
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var connection = db.Database.GetDbConnection();
            await using var command = connection.CreateCommand();
            AddParameter(command, "$run", runId);
            var lo = AddParameter(command, "$from", from);
            var hi = AddParameter(command, "$to", to);
            command.CommandText = "SELECT COUNT(*), MIN(Step), MAX(Step) FROM StepMetrics WHERE RunId = $run AND Step BETWEEN $from AND $to";
            long total;
            long first, last;
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                await reader.ReadAsync(cancellationToken);
                total = reader.GetInt64(0);
                if (total == 0)
                {
                    return new StepSeries(0, null, null, false, []);
                }

                first = reader.GetInt64(1);
                last = reader.GetInt64(2);
            }

            lo.Value = first;
            hi.Value = last;
            var points = new List<StepPoint>((int)Math.Min(total, buckets));
            var downsampled = total > buckets;
            if (!downsampled)
            {
                command.CommandText = "SELECT Step, Loss, Loss, Loss, 1 FROM StepMetrics WHERE RunId = $run AND Step BETWEEN $from AND $to ORDER BY Step";
                await ReadPointsAsync(command, points, cancellationToken);
            }
            else if (total < DenseRowsPerBucket * (long)buckets)
            {
                // Few rows per bucket: one GROUP BY, whose sort is cheap at this size.
                AddParameter(command, "$buckets", (long)buckets);
                AddParameter(command, "$span", last - first);
                command.CommandText = """
                    SELECT MIN(Step), AVG(Loss), MIN(Loss), MAX(Loss), COUNT(*) FROM StepMetrics
                    WHERE RunId = $run AND Step BETWEEN $from AND $to
                    GROUP BY MIN($buckets - 1, (Step - $from) * $buckets / $span)
                    ORDER BY 1
                    """;
                await ReadPointsAsync(command, points, cancellationToken);
            }
            else
            {
                // Many rows per bucket: one prepared aggregate per bucket's step range. Each walks its part of the key in
                // order, so SQLite never sorts the range (a GROUP BY over 200,000 rows spends most of its time sorting).
                command.CommandText = """
                    SELECT MIN(Step), AVG(Loss), MIN(Loss), MAX(Loss), COUNT(*) FROM StepMetrics
                    WHERE RunId = $run AND Step BETWEEN $from AND $to
                    """;
                command.Prepare();
                var span = last - first;
                for (var bucket = 0L; bucket < buckets; bucket++)
                {
                    // The steps whose bucket min(buckets - 1, (step - first) * buckets / span) is this one.
                    lo.Value = first + CeilingDivide(bucket * span, buckets);
                    hi.Value = bucket == buckets - 1 ? last : first + CeilingDivide((bucket + 1) * span, buckets) - 1;
                    await ReadPointsAsync(command, points, cancellationToken);
                }
            }

            return new StepSeries(total, first, last, downsampled, points);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>Reads (first step, mean, min, max, count) rows; an aggregate over no rows (count 0) adds nothing.</summary>
    private static async Task ReadPointsAsync(DbCommand command, List<StepPoint> points, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (reader.GetInt32(4) > 0)
            {
                points.Add(new StepPoint(reader.GetInt64(0), reader.GetDouble(1), reader.GetDouble(2), reader.GetDouble(3), reader.GetInt32(4)));
            }
        }
    }

    private static long CeilingDivide(long numerator, long denominator) => (numerator + denominator - 1) / denominator;

    private static DbParameter AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
        return parameter;
    }
}
