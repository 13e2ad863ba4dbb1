using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Data;

public static class SqliteSetup
{
    /// <summary>
    /// A connection string for the dashboard's database. The command timeout doubles as SQLite's busy timeout in
    /// Microsoft.Data.Sqlite, so writers wait for each other instead of failing with "database is locked".
    /// </summary>
    public static string ConnectionString(string databasePath) => new SqliteConnectionStringBuilder
    {
        DataSource = databasePath,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Cache = SqliteCacheMode.Private,
        DefaultTimeout = 30,
        Pooling = true,
    }.ToString();

    /// <summary>
    /// Opens the dashboard's database on <paramref name="options"/>: SQLite with a busy timeout on every connection
    /// (<see cref="SqliteBusyWait"/>), so concurrent writers wait for each other's lock rather than sleep 150 ms.
    /// </summary>
    public static DbContextOptionsBuilder UseDashboardSqlite(this DbContextOptionsBuilder options, string connectionString) =>
        options.UseSqlite(connectionString).AddInterceptors(SqliteBusyWait.Instance);

    /// <summary>Applies pending migrations and switches the file to write-ahead logging, which lets readers run beside the writer.</summary>
    public static async Task MigrateAsync(DashboardDbContext db, CancellationToken cancellationToken)
    {
        await db.Database.MigrateAsync(cancellationToken);
        await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
    }
}
