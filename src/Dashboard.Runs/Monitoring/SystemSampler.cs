using System.Collections.Concurrent;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Training;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Execution;
using Dashboard.Runs.Options;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Dashboard.Runs.Monitoring;

/// <summary>
/// Every <see cref="TrainingOptions.SystemSampleSeconds"/>, while runs train in this process: reads the process's CPU and
/// memory, torch's thread count and (for runs on CUDA) the GPU, stores one sample per such run within its
/// <see cref="SampleBudget"/> and publishes it. Only runs trained here: the readings are this process's, and a run on
/// another worker is sampled by that worker. It runs on its own timer and learns throughput from the progress events the
/// trainer publishes anyway, so the training threads do nothing for it.
/// </summary>
public sealed class SystemSampler(
    IDbContextFactory<DashboardDbContext> dbFactory,
    TrainingEventBroadcaster broadcaster,
    RunQueue queue,
    IOptions<TrainingOptions> options,
    ILogger<SystemSampler> logger) : BackgroundService
{
    /// <summary>Stored samples per run at most; even, so thinning halves it exactly.</summary>
    public const int SamplesPerRun = 1000;

    private readonly ConcurrentDictionary<int, double> _samplesPerSecond = new();

    // Touched only by the sampling loop.
    private readonly Dictionary<int, SampleBudget> _budgets = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var subscription = broadcaster.Subscribe(OnEventAsync);
        var process = new ProcessUsage();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.SystemSampleSeconds));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await SampleAsync(process, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A busy database or a vanished run costs one reading, never the sampler.
                logger.LogWarning(e, "Could not store a system sample.");
            }
        }
    }

    private Task OnEventAsync(TrainingEvent trainingEvent)
    {
        switch (trainingEvent)
        {
            case ProgressEvent e:
                _samplesPerSecond[e.RunId] = e.Progress.SamplesPerSecond;
                break;
            case RunStatusChangedEvent { IsActive: false } e:
                _samplesPerSecond.TryRemove(e.RunId, out _);
                break;
        }

        return Task.CompletedTask;
    }

    /// <summary>One tick: a sample for each run training here now.</summary>
    internal async Task SampleAsync(ProcessUsage process, CancellationToken cancellationToken)
    {
        // Read every tick, trained or not, so the CPU figure always spans one interval.
        var (cpuPercent, rssBytes) = process.Read();
        var here = queue.TrainingRunIds;
        foreach (var finished in _budgets.Keys.Except(here).ToList())
        {
            _budgets.Remove(finished);
        }

        if (here.Count == 0)
        {
            return;
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var running = await db.Runs.AsNoTracking()
            .Where(r => here.Contains(r.Id))
            .Select(r => new { r.Id, r.Device })
            .ToListAsync(cancellationToken);

        var threads = TorchThreading.Current;
        var now = DateTime.UtcNow;
        var gpus = new Dictionary<int, (double Percent, long MemoryBytes)?>();
        foreach (var run in running)
        {
            if (!_budgets.TryGetValue(run.Id, out var budget))
            {
                _budgets[run.Id] = budget = new SampleBudget(SamplesPerRun);
            }

            if (!budget.Take())
            {
                continue;
            }

            (double Percent, long MemoryBytes)? gpu = null;
            if (GpuUsage.CudaIndex(run.Device) is { } index && !gpus.TryGetValue(index, out gpu))
            {
                gpus[index] = gpu = await GpuUsage.ReadAsync(index, cancellationToken);
            }

            var row = new RunSystemSample
            {
                RunId = run.Id,
                Time = now,
                CpuPercent = cpuPercent,
                RssBytes = rssBytes,
                TorchThreads = threads,
                SamplesPerSecond = _samplesPerSecond.GetValueOrDefault(run.Id),
                GpuPercent = gpu?.Percent,
                GpuMemoryBytes = gpu?.MemoryBytes,
            };
            db.RunSystemSamples.Add(row);
            await db.SaveChangesAsync(cancellationToken);
            await ThinAsync(db, run.Id, budget, cancellationToken);

            // A run that ended meanwhile keeps the row (it was read while the run trained) but is not sent it live: its
            // final status must stay its last event.
            queue.WhileTraining(run.Id, () => broadcaster.Publish(new SystemSampleEvent(run.Id, SystemSampleDto.From(row))));
        }
    }

    private static async Task ThinAsync(DashboardDbContext db, int runId, SampleBudget budget, CancellationToken cancellationToken)
    {
        var stored = await db.RunSystemSamples.CountAsync(s => s.RunId == runId, cancellationToken);
        var drop = budget.Thin(stored);
        if (drop.Count == 0)
        {
            return;
        }

        var ids = await db.RunSystemSamples.Where(s => s.RunId == runId).OrderBy(s => s.Time).ThenBy(s => s.Id).Select(s => s.Id).ToListAsync(cancellationToken);
        var doomed = drop.Where(i => i < ids.Count).Select(i => ids[i]).ToList();
        await db.RunSystemSamples.Where(s => doomed.Contains(s.Id)).ExecuteDeleteAsync(cancellationToken);
    }
}
