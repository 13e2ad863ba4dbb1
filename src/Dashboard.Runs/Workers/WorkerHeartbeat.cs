using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using Dashboard.Engine.Training;
using Dashboard.Runs.Options;
using Dashboard.Runs.Plugins;
using Microsoft.Extensions.Options;

namespace Dashboard.Runs.Workers;

/// <summary>
/// Run by every process that trains (the web host's embedded worker, a standalone worker host): registers the process in
/// the <c>Workers</c> table on start, beats every <c>Worker:HeartbeatSeconds</c>, and says it stopped on a clean
/// shutdown. A database that is briefly away costs beats, never the process: the next beat that gets through (or a
/// re-registration, if the row went) puts it right.
/// </summary>
public sealed class WorkerHeartbeat(
    WorkerRegistry registry,
    DatasetRegistry datasets,
    ModelRegistry models,
    PluginCatalog plugins,
    IOptions<WorkerOptions> workerOptions,
    IOptions<TrainingOptions> trainingOptions,
    ILogger<WorkerHeartbeat> logger) : BackgroundService
{
    private readonly string _name = workerOptions.Value.EffectiveName;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(workerOptions.Value.HeartbeatSeconds);
        var registered = false;
        using var timer = new PeriodicTimer(interval);
        do
        {
            try
            {
                registered = registered && await registry.BeatAsync(_name, stoppingToken);
                if (!registered)
                {
                    await registry.RegisterAsync(Describe(), stoppingToken);
                    registered = true;
                    logger.LogInformation("Registered as worker {Worker} on queues {Queues}.", _name, workerOptions.Value.Queues);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Worker {Worker} could not write its heartbeat: {Message}", _name, e.Message);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await registry.MarkStoppedAsync(_name, cancellationToken);
        }
        catch (Exception e)
        {
            // Shutting down with the database away: the missing heartbeats will tell the same story a little later.
            logger.LogWarning("Worker {Worker} could not record its shutdown: {Message}", _name, e.Message);
        }
    }

    private WorkerRegistry.Registration Describe()
    {
        var training = trainingOptions.Value;
        return new WorkerRegistry.Registration(
            _name,
            Environment.MachineName,
            DeviceSelector.Resolve(training.Device),
            // The same call the executor makes before the first run: it fixes the pool size once per process.
            TorchThreading.EnsureConfigured(training.TorchThreads, training.MaxConcurrentRuns),
            workerOptions.Value.QueueList,
            [.. datasets.All.Select(d => d.Name)],
            [.. models.All.Select(m => m.Name)],
            [.. plugins.Loaded.Select(p => p.Identity)]);
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
