using Dashboard.Data;
using Dashboard.Data.Postgres;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Evaluation;
using Dashboard.Engine.Export;
using Dashboard.Engine.Models;
using Dashboard.Engine.Training;
using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Datasets;
using Dashboard.Runs.Evaluation;
using Dashboard.Runs.Events;
using Dashboard.Runs.Execution;
using Dashboard.Runs.Exports;
using Dashboard.Runs.Imports;
using Dashboard.Runs.Launching;
using Dashboard.Runs.Logging;
using Dashboard.Runs.Management;
using Dashboard.Runs.Monitoring;
using Dashboard.Runs.Options;
using Dashboard.Runs.Plugins;
using Dashboard.Runs.Resilience;
using Dashboard.Runs.Weights;
using Dashboard.Runs.Workers;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Dashboard.Runs;

public static class CoreServices
{
    /// <summary>
    /// The dashboard's services without its hosted ones (start-up, hub relay, job runner): what pages and routes inject.
    /// The host adds the hosted services; component tests use this alone, so nothing trains.
    /// </summary>
    /// <param name="connectionString">A SQLite database to use whatever the settings say; by default the database that
    /// <see cref="StorageOptions"/> names (the SQLite file, or PostgreSQL when <c>Storage:Provider</c> is postgres).</param>
    public static IServiceCollection AddDashboardCore(this IServiceCollection services, string? connectionString = null)
    {
        // Relative data folders are taken from the content root (the repository root in a clone), not from whatever
        // directory `dotnet run` happens to start the process in.
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section)
            .Configure<IConfiguration>((options, configuration) => options.PostgresConnectionString = configuration.GetConnectionString("Postgres"))
            .ValidateDataAnnotations().ValidateOnStart().PostConfigure<IServiceProvider>((options, provider) =>
        {
            if (provider.GetService<IHostEnvironment>() is { } environment)
            {
                options.DataDirectory = Path.GetFullPath(options.DataDirectory, environment.ContentRootPath);
            }
        });
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>();
        services.AddOptions<TrainingOptions>().BindConfiguration(TrainingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<TrainingOptions>, TrainingOptionsValidator>();
        services.AddOptions<WorkerOptions>().BindConfiguration(WorkerOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RunLogOptions>().BindConfiguration(RunLogOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        // Storage:Provider picks the database; callers see the same IDbContextFactory<DashboardDbContext> either way.
        services.AddDbContextFactory<DashboardDbContext>((provider, options) =>
        {
            var storage = provider.GetRequiredService<IOptions<StorageOptions>>().Value;
            if (connectionString is null && storage.UsesPostgres)
            {
                options.UsePostgresStorage(storage.PostgresConnectionString!);
            }
            else
            {
                options.UseDashboardSqlite(connectionString ?? SqliteSetup.ConnectionString(storage.DatabasePath));
            }
        });

        services.AddSingleton(provider =>
        {
            var mnist = provider.GetRequiredService<IOptions<TrainingOptions>>().Value.MnistPath;
            var registry = DatasetRegistry.CreateDefault(string.IsNullOrWhiteSpace(mnist) ? null : Path.GetFullPath(mnist));
            provider.GetRequiredService<PluginCatalog>().AddDatasetsTo(registry);
            var storage = provider.GetRequiredService<IOptions<StorageOptions>>().Value;
            var logger = provider.GetRequiredService<ILogger<DatasetLibrary>>();
            DatasetLibrary.LoadStored(registry, storage, logger);

            // Several processes share the data folder in the distributed mode: a dataset uploaded through one web instance
            // is found by the others and by the workers when they first look for it.
            registry.RefreshWith(() => DatasetLibrary.LoadStored(registry, storage, logger));
            return registry;
        });
        services.AddSingleton<DatasetLibrary>();
        services.AddSingleton(provider =>
        {
            var folders = provider.GetRequiredService<IOptions<TrainingOptions>>().Value.Plugins;
            var root = provider.GetService<IHostEnvironment>()?.ContentRootPath ?? Directory.GetCurrentDirectory();
            return PluginCatalog.Load(folders.Where(f => !string.IsNullOrWhiteSpace(f)).Select(f => Path.GetFullPath(f, root)));
        });
        services.AddSingleton(provider =>
        {
            var registry = ModelRegistry.CreateDefault();
            provider.GetRequiredService<PluginCatalog>().AddModelsTo(registry, provider.GetRequiredService<DatasetRegistry>());
            return registry;
        });
        services.AddSingleton<WeightsLibrary>();
        services.AddSingleton<RunConfigDiffs>();
        services.AddSingleton<CheckpointDataCheck>();
        services.AddSingleton<TrainingConfigValidator>();
        services.AddSingleton<Trainer>();
        services.AddSingleton<CheckpointExporter>();
        services.AddSingleton<CheckpointEvaluator>();
        services.AddSingleton(provider => new BundleImporter(
            provider.GetRequiredService<ModelRegistry>(),
            spoolFolder: provider.GetRequiredService<IOptions<StorageOptions>>().Value.UploadSpoolPath));
        services.AddSingleton(provider => new UploadSpool(provider.GetRequiredService<IOptions<StorageOptions>>().Value.UploadSpoolPath));
        services.AddSingleton(provider =>
        {
            var storage = provider.GetRequiredService<IOptions<StorageOptions>>().Value;
            return new CheckpointStore(storage.CheckpointPath, storage.QuotaBytes);
        });

        services.AddSingleton<TrainingEventBroadcaster>();
        services.AddSingleton<LiveFeedState>();
        services.AddSingleton<RunLog>();
        services.AddSingleton<RunQueue>();
        services.AddSingleton<RunLease>();
        services.AddSingleton<DatabaseReachability>();
        services.AddSingleton<DatabaseRetry>();

        // Started as a hosted service by the web host only: its pages are what it tells.
        services.AddSingleton<DatabaseProbe>();

        // Embedded mode's dispatcher; a host on PostgreSQL replaces it with the job engine's (Dashboard.Jobs).
        services.TryAddSingleton<IRunDispatcher, ChannelRunDispatcher>();
        services.AddSingleton<RunExecutor>();
        services.AddSingleton<RunService>();
        services.AddSingleton<RunCatalog>();
        services.AddSingleton<CheckpointVolume>();
        services.AddSingleton<InterruptedDeletions>();
        services.AddSingleton<CheckpointQueries>();
        services.AddSingleton<CheckpointLoader>();
        services.AddSingleton<CheckpointMaintenance>();
        services.AddSingleton<FineTunePlanner>();
        services.AddSingleton<RunLauncher>();
        services.AddSingleton<CheckpointInspector>();
        services.AddSingleton<CheckpointExports>();
        services.AddSingleton<RunDeletion>();
        services.AddSingleton<ImportService>();
        services.AddSingleton<RunExports>();
        services.AddSingleton<SystemSampleQueries>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<WorkerRegistry>();
        return services;
    }
}
