using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Dashboard.Data.Postgres;

/// <summary>
/// Lets <c>dotnet ef migrations add</c> scaffold PostgreSQL migrations when this project is the startup project: EF
/// takes the startup assembly's factory before the one beside the context (which is SQLite's). Scaffolding never
/// connects, so the connection string only has to name a host.
/// </summary>
public sealed class PostgresDesignTimeDbContextFactory : IDesignTimeDbContextFactory<DashboardDbContext>
{
    public DashboardDbContext CreateDbContext(string[] args)
    {
        var options = new DbContextOptionsBuilder<DashboardDbContext>();
        options.UsePostgresStorage("Host=localhost;Database=design_time");
        return new DashboardDbContext(options.Options);
    }
}
