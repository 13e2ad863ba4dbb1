using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Data;

/// <summary>
/// Every stored step of a run, one row at a time, for downloads. Unlike <see cref="StepMetricStore.QueryAsync"/> nothing is
/// bucketed or gathered: a run can hold millions of steps, so the caller writes each row out as it comes.
/// </summary>
public static class StepMetricReader
{
    /// <summary>
    /// The run's steps in [<paramref name="from"/>, <paramref name="to"/>], in step order. The connection stays open while
    /// the caller enumerates; one SELECT reads one snapshot of the table (on SQLite in WAL mode and on PostgreSQL alike), so a writer adding steps meanwhile neither blocks
    /// it nor shows it half a batch.
    /// </summary>
    public static async IAsyncEnumerable<StepRow> ReadAsync(DashboardDbContext db, int runId, long from, long to,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = db.Database.GetDbConnection().CreateCommand();
            command.CommandText = """SELECT "Step", "Epoch", "Loss" FROM "StepMetrics" WHERE "RunId" = @run AND "Step" BETWEEN @from AND @to ORDER BY "Step" """;
            StepMetricSql.Add(command, "@run", runId);
            StepMetricSql.Add(command, "@from", from);
            StepMetricSql.Add(command, "@to", to);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                yield return new StepRow(reader.GetInt64(0), reader.GetInt32(1), reader.GetDouble(2));
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}
