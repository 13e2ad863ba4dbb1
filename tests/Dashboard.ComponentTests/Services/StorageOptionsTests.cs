using Dashboard.Data;
using Dashboard.Runs;
using Dashboard.Runs.Options;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Dashboard.ComponentTests.Services;

/// <summary>
/// <c>Storage:Provider</c> and <c>ConnectionStrings:Postgres</c>: checked when the host starts, with a sentence naming the
/// setting, and turned into the matching EF provider behind the one <see cref="IDbContextFactory{TContext}"/>.
/// </summary>
public sealed class StorageOptionsTests
{
    [Theory]
    [InlineData("mysql")]
    [InlineData("")]
    [InlineData("sqlite3")]
    public async Task StartAsync_UnknownProvider_StopsNamingTheSettingAndTheChoices(string provider)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartHostAsync(new() { ["Storage:Provider"] = provider }));

        Assert.Contains($"Storage:Provider is '{provider}'; use 'sqlite' or 'postgres'.", error.Message);
    }

    [Fact]
    public async Task StartAsync_PostgresWithoutConnectionString_StopsNamingConnectionStringsPostgres()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartHostAsync(new() { ["Storage:Provider"] = "postgres" }));

        Assert.Contains("Storage:Provider is 'postgres', but ConnectionStrings:Postgres is empty.", error.Message);
    }

    [Theory]
    [InlineData("Host=db;Password=hunter2;Colour=blue", "cannot be read")]
    [InlineData("Database=dashboard;Password=hunter2", "names no Host")]
    public void Validate_PostgresWithUnusableConnectionString_FailsWithoutRepeatingIt(string connectionString, string problem)
    {
        var result = new StorageOptionsValidator().Validate(null, new StorageOptions { Provider = "postgres", PostgresConnectionString = connectionString });

        Assert.True(result.Failed);
        Assert.Contains($"ConnectionStrings:Postgres {problem}", result.FailureMessage);
        Assert.DoesNotContain("hunter2", result.FailureMessage);
    }

    [Theory]
    [InlineData("sqlite", null)]
    [InlineData("SQLite", null)]
    [InlineData(" Postgres ", "Host=127.0.0.1;Database=dashboard")]
    public void Validate_KnownProviderInAnyCase_Succeeds(string provider, string? connectionString)
    {
        var result = new StorageOptionsValidator().Validate(null, new StorageOptions { Provider = provider, PostgresConnectionString = connectionString });

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public async Task CreateDbContext_PostgresProvider_GivesANpgsqlContextWithItsOwnMigrations()
    {
        using var host = await StartHostAsync(new()
        {
            ["Storage:Provider"] = "postgres",
            ["ConnectionStrings:Postgres"] = "Host=127.0.0.1;Database=dashboard",
        });

        // Nothing connects: the context only has to be PostgreSQL's and find the PostgreSQL migrations.
        await using var db = await host.Services.GetRequiredService<IDbContextFactory<DashboardDbContext>>().CreateDbContextAsync();
        Assert.True(db.Database.IsPostgres());
        Assert.Contains(db.Database.GetMigrations(), m => m.EndsWith("_InitialPostgres", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CreateDbContext_NoProviderSet_GivesTheSqliteFileWithItsMigrations()
    {
        using var host = await StartHostAsync([]);

        await using var db = await host.Services.GetRequiredService<IDbContextFactory<DashboardDbContext>>().CreateDbContextAsync();
        Assert.True(db.Database.IsSqlite());
        Assert.DoesNotContain(db.Database.GetMigrations(), m => m.EndsWith("_InitialPostgres", StringComparison.Ordinal));
        Assert.Contains(db.Database.GetMigrations(), m => m.EndsWith("_Initial", StringComparison.Ordinal));
    }

    /// <summary>A generic host with the dashboard's core services and <paramref name="settings"/>, started as the web host is.</summary>
    private static async Task<IHost> StartHostAsync(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddDashboardCore();
        var host = builder.Build();
        try
        {
            await host.StartAsync();
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }
}
