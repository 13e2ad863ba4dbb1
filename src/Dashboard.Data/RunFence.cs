using System.Data.Common;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Data;

/// <summary>
/// The fencing check of a training process's writes: each write first renews the run's lease on the condition that the
/// run still holds the process's token, in the write's own transaction. The row stays locked until the write commits,
/// so a take-over either waits for the write or makes it fail; a process presumed dead never writes after it.
/// </summary>
public static class RunFence
{
    /// <summary>Inside <paramref name="db"/>'s open transaction: renews the lease, or throws when another process took the run.</summary>
    public static async Task CheckAsync(DashboardDbContext db, int runId, long token, CancellationToken cancellationToken = default)
    {
        var now = DateTime.UtcNow;
        var held = await db.Runs.Where(r => r.Id == runId && r.LeaseToken == token)
            .ExecuteUpdateAsync(u => u.SetProperty(r => r.LeaseRenewedAt, now), cancellationToken);
        if (held != 1)
        {
            throw new RunFencedException(runId, token);
        }
    }

    /// <summary>The same check on a raw connection, inside <paramref name="transaction"/> (the step store's writes).</summary>
    internal static void Check(DbConnection connection, DbTransaction transaction, int runId, long token)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """UPDATE "Runs" SET "LeaseRenewedAt" = @now WHERE "Id" = @run AND "LeaseToken" = @token""";
        StepMetricSql.Add(command, "@now", DateTime.UtcNow);
        StepMetricSql.Add(command, "@run", runId);
        StepMetricSql.Add(command, "@token", token);
        if (command.ExecuteNonQuery() != 1)
        {
            throw new RunFencedException(runId, token);
        }
    }
}

/// <summary>Another process took the run over (its lease token moved on): this one must stop writing for it at once.</summary>
public sealed class RunFencedException(int runId, long token)
    : Exception($"Run {runId} was taken over by another process; lease {token} is no longer its own, so nothing more is written for it here.")
{
    public int RunId { get; } = runId;
}
