using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using static Dashboard.Data.StepMetricStore;

namespace Dashboard.Data;

/// <summary>
/// The statements of <see cref="StepMetricStore"/> that SQLite and PostgreSQL spell differently. Everything else is written
/// once: quoted identifiers, <c>@name</c> parameters and <c>INSERT … ON CONFLICT</c> read the same to both.
/// </summary>
internal abstract class StepMetricSql
{
    public static readonly StepMetricSql Sqlite = new SqliteStepMetricSql();

    public static readonly StepMetricSql Postgres = new PostgresStepMetricSql();

    public static StepMetricSql For(DashboardDbContext db) => db.Database.IsPostgres() ? Postgres : Sqlite;

    /// <summary>Recomputes, from their rows, the blocks holding steps in [@lo, @hi]; a block left without rows gets no row here.</summary>
    public static readonly string RebuildBlocks = $"""
        INSERT INTO "StepMetricBlocks" ("RunId", "Block", "FirstStep", "Count", "Sum", "Min", "Max")
        SELECT "RunId", "Step" >> {BlockShift}, MIN("Step"), COUNT(*), SUM("Loss"), MIN("Loss"), MAX("Loss") FROM "StepMetrics"
        WHERE "RunId" = @run AND "Step" BETWEEN @lo AND @hi
        GROUP BY "RunId", "Step" >> {BlockShift}
        ON CONFLICT ("RunId", "Block") DO UPDATE SET "FirstStep" = excluded."FirstStep", "Count" = excluded."Count",
            "Sum" = excluded."Sum", "Min" = excluded."Min", "Max" = excluded."Max"
        """;

    /// <summary>A step already stored (replayed after a resume) is replaced, so a run never holds a step twice.</summary>
    protected const string UpsertStep = """ON CONFLICT ("RunId", "Step") DO UPDATE SET "Epoch" = excluded."Epoch", "Loss" = excluded."Loss" """;

    /// <summary>The scalar greater of two values (SQLite's two-argument MAX).</summary>
    public abstract string Greatest { get; }

    /// <summary>The scalar lesser of two values (SQLite's two-argument MIN).</summary>
    public abstract string Least { get; }

    /// <summary>The rows of the blocks in the @blocks parameter (<see cref="AddBlocks"/>), within [@from, @to].</summary>
    public abstract string RowsOfBlocks { get; }

    /// <summary>Sets @blocks to the block numbers <see cref="RowsOfBlocks"/> reads.</summary>
    public abstract void AddBlocks(DbCommand command, IReadOnlyList<long> blocks);

    /// <summary>Stores the finite steps of <paramref name="steps"/>; returns the lowest and highest step stored.</summary>
    public abstract (long Lowest, long Highest) Insert(DbConnection connection, DbTransaction transaction, int runId, IReadOnlyList<StepRow> steps);

    /// <summary>
    /// A transaction in which a reader sees one state of the tables for all its statements, or a writer's changes appear
    /// together.
    /// </summary>
    public abstract DbTransaction Begin(DbConnection connection, bool readOnly);

    public static DbParameter Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
        return parameter;
    }

    private sealed class SqliteStepMetricSql : StepMetricSql
    {
        public override string Greatest => "MAX";

        public override string Least => "MIN";

        // The CROSS JOIN keeps the list as the outer loop, so each block is one short walk of the key.
        public override string RowsOfBlocks { get; } = $"""
            SELECT s."Step", s."Loss" FROM json_each(@blocks) AS b CROSS JOIN "StepMetrics" AS s
            WHERE s."RunId" = @run AND s."Step" BETWEEN MAX(b.value << {BlockShift}, @from) AND MIN((b.value << {BlockShift}) + {BlockSize - 1}, @to)
            """;

        public override void AddBlocks(DbCommand command, IReadOnlyList<long> blocks) => Add(command, "@blocks", $"[{string.Join(',', blocks)}]");

        // One prepared statement run per step: SQLite has no round trip to save, and this allocates nothing per step.
        public override (long Lowest, long Highest) Insert(DbConnection connection, DbTransaction transaction, int runId, IReadOnlyList<StepRow> steps)
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = $"""INSERT INTO "StepMetrics" ("RunId", "Step", "Epoch", "Loss") VALUES (@run, @step, @epoch, @loss) {UpsertStep}""";
            Add(command, "@run", runId);
            var step = Add(command, "@step", 0L);
            var epoch = Add(command, "@epoch", 0);
            var loss = Add(command, "@loss", 0.0);
            command.Prepare();
            var (lowest, highest) = (long.MaxValue, long.MinValue);
            foreach (var row in steps.Where(r => double.IsFinite(r.Loss)))
            {
                (step.Value, epoch.Value, loss.Value) = (row.Step, row.Epoch, row.Loss);
                command.ExecuteNonQuery();
                (lowest, highest) = (Math.Min(lowest, row.Step), Math.Max(highest, row.Step));
            }

            return (lowest, highest);
        }

        // A deferred transaction only reads until it writes, so readers do not queue behind each other.
        public override DbTransaction Begin(DbConnection connection, bool readOnly) => ((SqliteConnection)connection).BeginTransaction(deferred: readOnly);
    }

    private sealed class PostgresStepMetricSql : StepMetricSql
    {
        public override string Greatest => "GREATEST";

        public override string Least => "LEAST";

        public override string RowsOfBlocks { get; } = $"""
            SELECT s."Step", s."Loss" FROM unnest(@blocks) AS b(value) JOIN "StepMetrics" AS s
            ON s."RunId" = @run AND s."Step" BETWEEN GREATEST(b.value << {BlockShift}, @from) AND LEAST((b.value << {BlockShift}) + {BlockSize - 1}, @to)
            """;

        public override void AddBlocks(DbCommand command, IReadOnlyList<long> blocks) => Add(command, "@blocks", blocks.ToArray());

        // A batch as three arrays in one statement: one round trip to the server rather than one per step. ON CONFLICT
        // may touch a row once per statement, so a step repeated within the batch keeps its last value, as it would row by row.
        public override (long Lowest, long Highest) Insert(DbConnection connection, DbTransaction transaction, int runId, IReadOnlyList<StepRow> steps)
        {
            var last = new Dictionary<long, StepRow>(steps.Count);
            foreach (var row in steps.Where(r => double.IsFinite(r.Loss)))
            {
                last[row.Step] = row;
            }

            if (last.Count == 0)
            {
                return (long.MaxValue, long.MinValue);
            }

            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = $"""
                INSERT INTO "StepMetrics" ("RunId", "Step", "Epoch", "Loss")
                SELECT @run, t.step, t.epoch, t.loss FROM unnest(@steps, @epochs, @losses) AS t(step, epoch, loss) {UpsertStep}
                """;
            Add(command, "@run", runId);
            Add(command, "@steps", last.Keys.ToArray());
            Add(command, "@epochs", last.Values.Select(r => r.Epoch).ToArray());
            Add(command, "@losses", last.Values.Select(r => r.Loss).ToArray());
            command.ExecuteNonQuery();
            return (last.Keys.Min(), last.Keys.Max());
        }

        // Repeatable read: every statement of a read sees the snapshot its first one saw, whatever a writer commits meanwhile.
        public override DbTransaction Begin(DbConnection connection, bool readOnly) =>
            connection.BeginTransaction(readOnly ? IsolationLevel.RepeatableRead : IsolationLevel.ReadCommitted);
    }
}
