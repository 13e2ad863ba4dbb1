using Dashboard.Data;
using Dashboard.Engine.Data;
using Dashboard.Engine.Models;
using Dashboard.Engine.Training;
using Dashboard.Web.Services;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Support;

public static class DashboardServices
{
    /// <summary>
    /// What the pages inject, registered as Program.cs registers it but on the test's own database. The hosted services
    /// (startup, hub relay, training jobs) stay out: a queued run is never picked up, so nothing trains.
    /// </summary>
    public static IServiceCollection AddDashboardServices(this IServiceCollection services, TestDatabase database)
    {
        services.AddLogging();
        services.AddDbContextFactory<DashboardDbContext>(options => options.UseSqlite(database.ConnectionString));
        services.AddSingleton(_ => DatasetRegistry.CreateDefault());
        services.AddSingleton(_ => ModelRegistry.CreateDefault());
        services.AddSingleton<TrainingConfigValidator>();
        services.AddSingleton<TrainingEventBroadcaster>();
        services.AddSingleton<RunQueue>();
        services.AddSingleton<RunService>();
        return services;
    }
}
