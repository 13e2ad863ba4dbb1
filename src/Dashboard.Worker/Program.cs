using Dashboard.Jobs;
using Dashboard.Redis;
using Dashboard.Runs;
using Dashboard.Runs.Management;
using Dashboard.Runs.Monitoring;
using Dashboard.Runs.Options;
using Dashboard.Runs.Workers;
using Microsoft.Extensions.Options;

// A training worker: the same settings as the web app (appsettings.json at the repository root, environment variables,
// command-line keys), PostgreSQL required, and a job server on Worker:Queues that trains the runs queued there.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
{
    Args = args,
    ContentRootPath = ContentRoot.Locate(),
});

var provider = builder.Configuration[$"{StorageOptions.Section}:{nameof(StorageOptions.Provider)}"] ?? StorageOptions.Sqlite;
builder.Services.AddDashboardCore();

// Migrated and reconciled as the web app does, before the job server takes its first run.
builder.Services.AddHostedService<StartupService>();
if (!builder.Services.AddDashboardJobs(builder.Configuration, runServer: true))
{
    await Console.Error.WriteLineAsync(
        $"The worker did not start: {StorageOptions.Section}:{nameof(StorageOptions.Provider)} is '{provider}'. A worker takes runs from the job engine on "
        + $"PostgreSQL: set {StorageOptions.Section}:{nameof(StorageOptions.Provider)}=postgres and ConnectionStrings:Postgres, as on the web app.");
    return 2;
}

builder.Services.AddHostedService<SystemSampler>();
builder.Services.AddHostedService<WorkerHeartbeat>();

// Retention here removes checkpoints too: a kill between a folder's rename and its removal is settled by whichever
// process looks first once the rename is old enough.
builder.Services.AddHostedService<LeftoverSweep>();

// Live events of the runs trained here reach every web instance's pages and hub clients through Redis.
try
{
    builder.Services.AddDashboardRedis(builder.Configuration);
}
catch (InvalidOperationException e)
{
    await Console.Error.WriteLineAsync($"The worker did not start: {e.Message}");
    return 2;
}

// SIGTERM: every run finishes its batch, writes its interrupt checkpoint and is handed back before the process exits,
// within Worker:ShutdownSeconds; the host waits that and a margin. Invalid worker settings fail here, at start.
builder.Services.AddOptions<HostOptions>().Configure<IOptions<WorkerOptions>>((host, worker) => host.ShutdownTimeout = worker.Value.HostShutdownTimeout);

var host = builder.Build();

// One line once the job server runs: operators see what this worker serves, and the tests wait for it.
var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
lifetime.ApplicationStarted.Register(() =>
{
    var worker = host.Services.GetRequiredService<IOptions<WorkerOptions>>().Value;
    var shutdown = host.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout;
    host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Dashboard.Worker")
        .LogInformation(
            "Dashboard worker ready: {Name} takes runs from queue(s) {Queues}; on SIGTERM it waits up to {Seconds} s for their interrupt checkpoints.",
            worker.EffectiveName,
            string.Join(", ", worker.QueueList),
            shutdown.TotalSeconds);
});
await host.RunAsync();
return 0;
