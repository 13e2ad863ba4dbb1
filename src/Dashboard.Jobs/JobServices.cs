using Dashboard.Runs.Execution;
using Dashboard.Runs.Options;
using Hangfire;
using Hangfire.PostgreSql;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Dashboard.Jobs;

public static class JobServices
{
    /// <summary>The job engine's tables live in their own schema of the dashboard's PostgreSQL database.</summary>
    public const string Schema = "hangfire";

    /// <summary>
    /// With <c>Storage:Provider=postgres</c>: runs are queued as jobs of the job engine on the same database, and, when
    /// <paramref name="runServer"/>, this process trains them too (a job server on <c>Worker:Queues</c> with
    /// <c>Training:MaxConcurrentRuns</c> workers). Returns false, registering nothing, with SQLite, where the in-process
    /// channel stays. Call after <c>AddDashboardCore</c> and after the start-up service: the server starts after migrations.
    /// </summary>
    public static bool AddDashboardJobs(this IServiceCollection services, IConfiguration configuration, bool runServer)
    {
        var storage = configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
        if (!storage.UsesPostgres)
        {
            return false;
        }

        services.AddHangfire((provider, hangfire) =>
        {
            var connectionString = provider.GetRequiredService<IOptions<StorageOptions>>().Value.PostgresConnectionString;
            var failover = TimeSpan.FromSeconds(provider.GetRequiredService<IOptions<TrainingOptions>>().Value.FailoverSeconds);
            hangfire.SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
                .UseSimpleAssemblyNameTypeSerializer()
                .UseRecommendedSerializerSettings()
                .UsePostgreSqlStorage(
                    bootstrap => bootstrap.UseNpgsqlConnection(connectionString),
                    new PostgreSqlStorageOptions
                    {
                        SchemaName = Schema,
                        PrepareSchemaIfNecessary = true,

                        // A dead worker's job is handed to another once it has not been kept alive for the failover time;
                        // a live worker keeps its job alive however long the run trains (without sliding, the engine would
                        // give a run longer than the timeout to a second worker while the first still trains it).
                        InvisibilityTimeout = failover,
                        UseSlidingInvisibilityTimeout = true,
                        QueuePollInterval = TimeSpan.FromSeconds(1),
                    });
        });
        services.Replace(ServiceDescriptor.Singleton<IRunDispatcher, HangfireRunDispatcher>());
        services.AddTransient<RunJob>();
        if (runServer)
        {
            services.AddHangfireServer((provider, server) =>
            {
                var worker = provider.GetRequiredService<IOptions<WorkerOptions>>().Value;
                server.ServerName = worker.EffectiveName;
                server.Queues = [.. worker.QueueList];
                server.WorkerCount = provider.GetRequiredService<IOptions<TrainingOptions>>().Value.MaxConcurrentRuns;

                // Long enough for every run to finish its batch and write its interrupt checkpoint before the engine gives
                // up on its workers (Worker:ShutdownSeconds); each host's Program.cs sets its own shutdown timeout to cover it
                // (WorkerOptions.HostShutdownTimeout).
                server.ShutdownTimeout = worker.RunsShutdownTimeout;
            });
        }

        return true;
    }
}
