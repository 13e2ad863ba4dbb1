using Dashboard.Runs.Options;
using Microsoft.Extensions.Options;

namespace Dashboard.Runs.Execution;

/// <summary>
/// Takes queued runs off the <see cref="RunQueue"/> and trains up to <c>Training:MaxConcurrentRuns</c> at once. On
/// shutdown every run finishes its current batch and writes an interrupt checkpoint before the host exits.
/// </summary>
public sealed class TrainingJobService(RunQueue queue, RunExecutor executor, IOptions<TrainingOptions> options, ILogger<TrainingJobService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var slots = new SemaphoreSlim(options.Value.MaxConcurrentRuns);
        var running = new List<Task>();
        try
        {
            await foreach (var runId in queue.Reader.ReadAllAsync(stoppingToken))
            {
                await slots.WaitAsync(stoppingToken);
                running.RemoveAll(t => t.IsCompleted);
                running.Add(RunInSlotAsync(runId, slots, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            logger.LogInformation("Shutting down: waiting for {Count} run(s) to checkpoint.", running.Count(t => !t.IsCompleted));
        }

        await Task.WhenAll(running);
    }

    private async Task RunInSlotAsync(int runId, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        try
        {
            await executor.ExecuteAsync(runId, stoppingToken);
        }
        catch (Exception e)
        {
            // The executor records a run's own failures; what reaches here (the database gone while the ending was stored)
            // is logged, not left in a faulted task nobody awaits until shutdown, where it would hide the other runs' ends.
            logger.LogError(e, "The job of run {RunId} failed outside its training.", runId);
        }
        finally
        {
            slots.Release();
        }
    }
}
