using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Dashboard.Data;

/// <summary>
/// Gives every SQLite connection the dashboard opens a busy timeout, so a writer that finds another's write transaction
/// in progress waits in SQLite for the lock (SQLite's busy handler polls every 1 to 100 ms) instead of failing at once.
/// Without it Microsoft.Data.Sqlite answers each SQLITE_BUSY by sleeping 150 ms on the calling thread and trying again,
/// so two writes that overlap by a millisecond (a run's step rows and its checkpoint row, each in a transaction that
/// first renews the run's lease) cost the second one 150 ms: short epochs then ran every ~157 ms instead of ~25 ms
/// and the live path's p95 tripled (bench figure 5, bench/README.md). The timeout is the connection's
/// <see cref="SqliteConnection.DefaultTimeout"/>, the same total wait as before.
/// </summary>
internal sealed class SqliteBusyWait : DbConnectionInterceptor
{
    public static readonly SqliteBusyWait Instance = new();

    private SqliteBusyWait()
    {
    }

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Apply(connection);
        return Task.CompletedTask;
    }

    /// <summary>Sets the busy timeout on <paramref name="connection"/>'s handle (kept by the pool, so set again cheaply on each open).</summary>
    private static void Apply(DbConnection connection)
    {
        if (connection is SqliteConnection { Handle: { } handle } sqlite)
        {
            SQLitePCL.raw.sqlite3_busy_timeout(handle, checked(sqlite.DefaultTimeout * 1000));
        }
    }
}
