using System.Data.Common;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;

namespace Dashboard.Runs.Resilience;

/// <summary>
/// Which database failures are worth waiting out: the server restarting, refusing connections or shutting a session down,
/// or SQLite's file busy or locked by another writer. Provider-neutral, so the run's persistence and the web host ask the
/// same question whatever <c>Storage:Provider</c> says. Anything else (a constraint, a fenced write, bad SQL) is not: a
/// retry would fail the same way.
/// </summary>
public static class DatabaseErrors
{
    /// <summary>
    /// PostgreSQL's SQLSTATEs of a server that is going away, starting or overloaded: class 08 (connection exception),
    /// 53 (insufficient resources), 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, and the
    /// serialization and deadlock failures a retry resolves.
    /// </summary>
    private static readonly string[] TransientStates = ["57P01", "57P02", "57P03", "40001", "40P01"];

    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;

    /// <summary>True when <paramref name="exception"/>, or one it wraps (EF's update exception, a task's aggregate), is transient.</summary>
    public static bool IsTransient(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is AggregateException aggregate)
            {
                return aggregate.InnerExceptions.Any(IsTransient);
            }

            if (IsTransientItself(current))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsTransientItself(Exception exception) => exception switch
    {
        SqliteException sqlite => sqlite.SqliteErrorCode is SqliteBusy or SqliteLocked,

        // Npgsql sets IsTransient for a refused or broken connection and for the shutdown states; the states are also
        // checked by name, so another provider that reports them without the flag counts too.
        DbException db => db.IsTransient
            || db.SqlState is { } state && (state.StartsWith("08", StringComparison.Ordinal) || state.StartsWith("53", StringComparison.Ordinal) || TransientStates.Contains(state))
            || db.InnerException is SocketException or IOException or TimeoutException,
        _ => false,
    };
}
