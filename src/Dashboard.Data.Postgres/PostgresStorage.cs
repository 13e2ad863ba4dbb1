using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Dashboard.Data.Postgres;

/// <summary>
/// The dashboard's database on PostgreSQL: the same <see cref="DashboardDbContext"/> and model as on SQLite, with the
/// migrations of this assembly, which were scaffolded for PostgreSQL.
/// </summary>
public static class PostgresStorage
{
    /// <summary>This assembly's name: EF looks for the PostgreSQL migrations here rather than beside the context.</summary>
    public static string MigrationsAssembly { get; } = typeof(PostgresStorage).Assembly.GetName().Name!;

    /// <summary>Points <paramref name="options"/> at PostgreSQL, with this assembly's migrations.</summary>
    public static DbContextOptionsBuilder UsePostgresStorage(this DbContextOptionsBuilder options, string connectionString) =>
        options.UseNpgsql(connectionString, npgsql => npgsql.MigrationsAssembly(MigrationsAssembly));

    /// <summary>
    /// Why <paramref name="connectionString"/> cannot serve as the dashboard's PostgreSQL connection, or null when it can:
    /// an unknown keyword or a missing host is reported at start-up rather than at the first query.
    /// </summary>
    public static string? Problem(string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return "is empty";
        }

        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            return string.IsNullOrWhiteSpace(builder.Host) ? "names no Host" : null;
        }
        catch (ArgumentException e)
        {
            return $"cannot be read ({e.Message})";
        }
    }
}
