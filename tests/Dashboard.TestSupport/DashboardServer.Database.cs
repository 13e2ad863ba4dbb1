using Dashboard.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.TestSupport;

public sealed partial class DashboardServer
{
    public string DatabasePath => Path.Combine(DataDirectory, "dashboard.db");

    /// <summary>
    /// Reads the dashboard's SQLite file directly, typically while the process is down: what a crash or a shutdown left
    /// behind, before start-up reconciliation gets to change it.
    /// </summary>
    public async Task<T> ReadDatabaseAsync<T>(Func<DashboardDbContext, Task<T>> query)
    {
        var options = new DbContextOptionsBuilder<DashboardDbContext>()
            .UseSqlite(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString())
            .Options;
        await using var db = new DashboardDbContext(options);
        return await query(db);
    }
}
