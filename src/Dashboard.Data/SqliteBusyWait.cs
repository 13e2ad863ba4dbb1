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
/// <see cref="SqliteConnection.DefaultTimeout"/> when it opens (what a transaction's BEGIN waits), and each EF command's
/// own <see cref="DbCommand.CommandTimeout"/> before it runs, so a caller that shortens it (the database probe's 5 s)
/// is not kept waiting the connection's 30 s inside SQLite: the limits the driver's own retry loop kept.
/// </summary>
internal sealed class SqliteBusyWait : DbConnectionInterceptor, IDbCommandInterceptor
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

    public InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        Apply(command);
        return result;
    }

    public ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Apply(command);
        return ValueTask.FromResult(result);
    }

    public InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        Apply(command);
        return result;
    }

    public ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Apply(command);
        return ValueTask.FromResult(result);
    }

    public InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result)
    {
        Apply(command);
        return result;
    }

    public ValueTask<InterceptionResult<object>> ScalarExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default)
    {
        Apply(command);
        return ValueTask.FromResult(result);
    }

    /// <summary>Sets the busy timeout on <paramref name="connection"/>'s handle (kept by the pool, so set again cheaply on each open).</summary>
    private static void Apply(DbConnection connection)
    {
        if (connection is SqliteConnection sqlite)
        {
            Apply(sqlite, sqlite.DefaultTimeout);
        }
    }

    private static void Apply(DbCommand command)
    {
        if (command.Connection is SqliteConnection sqlite)
        {
            Apply(sqlite, command.CommandTimeout);
        }
    }

    private static void Apply(SqliteConnection connection, int seconds)
    {
        if (connection.Handle is { } handle)
        {
            // 0 means "no limit" to ADO.NET, and "do not wait at all" to SQLite.
            SQLitePCL.raw.sqlite3_busy_timeout(handle, seconds <= 0 ? int.MaxValue : (int)Math.Min(seconds * 1000L, int.MaxValue));
        }
    }
}
