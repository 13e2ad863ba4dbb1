using Dashboard.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.UnitTests.Support;

/// <summary>A real SQLite file in its own temp folder, opened the way the dashboard opens it.</summary>
public sealed class TempDatabase : IDisposable
{
    private readonly TempDirectory _folder = new();

    public TempDatabase()
    {
        FilePath = _folder.Combine("dashboard.db");
        ConnectionString = SqliteSetup.ConnectionString(FilePath);
    }

    public string FilePath { get; }

    public string ConnectionString { get; }

    public DashboardDbContext CreateContext()
    {
        var options = new DbContextOptionsBuilder<DashboardDbContext>();
        options.UseDashboardSqlite(ConnectionString);
        return new(options.Options);
    }

    public async Task MigrateAsync()
    {
        await using var db = CreateContext();
        await SqliteSetup.MigrateAsync(db, CancellationToken.None);
    }

    /// <summary>Runs one statement on a plain connection, bypassing EF, and returns the first column of every row.</summary>
    public async Task<List<string>> QueryAsync(string sql)
    {
        await using var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<string>();
        while (await reader.ReadAsync())
        {
            values.Add(reader.IsDBNull(0) ? "NULL" : reader.GetValue(0).ToString()!);
        }

        return values;
    }

    public void Dispose()
    {
        // Pooled connections keep the file (and its -wal/-shm companions) open; release them before deleting.
        SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }
}
