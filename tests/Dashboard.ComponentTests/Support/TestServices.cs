using Dashboard.Runs;
using Dashboard.Runs.Options;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Support;

public static class TestServices
{
    /// <summary>
    /// What the pages inject, registered by the app's own <see cref="DashboardServices.AddDashboardCore"/> on the test's
    /// database and a checkpoint folder beside it. The hosted services stay out: a queued run is never picked up.
    /// </summary>
    public static IServiceCollection AddDashboardServices(this IServiceCollection services, TestDatabase database)
    {
        services.AddLogging();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddDashboardCore(database.ConnectionString);
        services.Configure<StorageOptions>(o => o.DataDirectory = System.IO.Path.GetDirectoryName(database.Path)!);
        return services;
    }
}
