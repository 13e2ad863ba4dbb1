using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Dashboard.Data;

/// <summary>What start-up does to the database, whichever provider holds it.</summary>
public static class DatabaseSetup
{
    /// <summary>The EF provider name of PostgreSQL (Npgsql), which this assembly does not reference.</summary>
    public const string PostgresProviderName = "Npgsql.EntityFrameworkCore.PostgreSQL";

    /// <summary>True when <paramref name="database"/> is on PostgreSQL rather than SQLite.</summary>
    public static bool IsPostgres(this DatabaseFacade database) => database.ProviderName == PostgresProviderName;

    /// <summary>
    /// Applies the provider's pending migrations (each provider has its own set, chosen by the context's options); on
    /// SQLite also switches the file to write-ahead logging. PostgreSQL needs no such switch: readers never block writers.
    /// </summary>
    public static Task MigrateAsync(DashboardDbContext db, CancellationToken cancellationToken) =>
        db.Database.IsSqlite() ? SqliteSetup.MigrateAsync(db, cancellationToken) : db.Database.MigrateAsync(cancellationToken);
}
