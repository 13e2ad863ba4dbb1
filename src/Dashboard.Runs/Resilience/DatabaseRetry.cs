using System.Diagnostics;
using Dashboard.Runs.Events;
using Dashboard.Runs.Options;
using Microsoft.Extensions.Options;

namespace Dashboard.Runs.Resilience;

/// <summary>
/// Waits out a database that went away for a moment (a PostgreSQL restart, a failover, SQLite busy): each attempt of a
/// write is repeated after 0.5 s, 1 s, 2 s … up to 10 s apart (with jitter, so the writers of several runs do not return
/// in step) while the failure is transient (<see cref="DatabaseErrors"/>), for at most <c>Training:DatabaseRetrySeconds</c>.
/// Past that the write fails with <see cref="DatabaseUnavailableException"/>, whose message says what to do. An attempt
/// must be whole: it opens its own context and transaction, so a repeat never sees half of the one before. Whether a
/// repeat may duplicate what a lost acknowledgement hid is the caller's to rule out (upserts, deletes before inserts).
/// </summary>
/// Pages are told through <see cref="LiveFeedState.DatabaseReachable"/>: they say "reconnecting" and reload once a write
/// gets through again.
public sealed class DatabaseRetry(
    IOptions<TrainingOptions> options,
    LiveFeedState feed,
    TrainingEventBroadcaster broadcaster,
    ILogger<DatabaseRetry> logger)
{
    public static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(0.5);

    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(10);

    private TimeSpan Limit => TimeSpan.FromSeconds(options.Value.DatabaseRetrySeconds);

    /// <summary>Runs <paramref name="attempt"/> until it succeeds, fails for good, or the database stays away too long.</summary>
    /// <param name="what">What the attempt stores, for the log and the error ("storing the steps of run 3").</param>
    public async Task RunAsync(string what, Func<Task> attempt, CancellationToken cancellationToken = default) =>
        await RunAsync(what, async () =>
        {
            await attempt();
            return true;
        }, cancellationToken);

    /// <inheritdoc cref="RunAsync(string, Func{Task}, CancellationToken)"/>
    public async Task<T> RunAsync<T>(string what, Func<Task<T>> attempt, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var delay = FirstDelay;
        var failures = 0;
        while (true)
        {
            try
            {
                var result = await attempt();
                if (failures > 0)
                {
                    Reachable(true);
                    logger.LogInformation("The database is back: {What} succeeded after {Failures} failed attempt(s) over {Seconds:F1} s.", what, failures, clock.Elapsed.TotalSeconds);
                }

                return result;
            }
            catch (Exception e) when (DatabaseErrors.IsTransient(e) && !cancellationToken.IsCancellationRequested)
            {
                failures++;
                Reachable(false);
                var wait = delay * (0.8 + (Random.Shared.NextDouble() * 0.4));
                if (clock.Elapsed + wait > Limit)
                {
                    throw new DatabaseUnavailableException(what, clock.Elapsed, options.Value.DatabaseRetrySeconds, e);
                }

                logger.LogWarning("The database is unreachable while {What} (attempt {Failures}, {Seconds:F1} s so far); trying again in {Wait:F1} s: {Message}",
                    what, failures, clock.Elapsed.TotalSeconds, wait.TotalSeconds, e.Message);
                await Task.Delay(wait, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxDelay.Ticks));
            }
        }
    }

    /// <summary>Publishes a change only (local to this process: another's database link is its own business).</summary>
    private void Reachable(bool reachable)
    {
        if (feed.DatabaseReachable != reachable)
        {
            feed.DatabaseReachable = reachable;
            broadcaster.PublishRelayed(new LiveFeedChangedEvent(feed.Connected && reachable));
        }
    }
}

/// <summary>The database stayed unreachable past <c>Training:DatabaseRetrySeconds</c>: what was being stored could not be.</summary>
public sealed class DatabaseUnavailableException(string what, TimeSpan waited, int limitSeconds, Exception inner)
    : Exception(
        $"The database could not be reached for {waited.TotalSeconds:F0} s while {what} ({TrainingOptions.Section}:{nameof(TrainingOptions.DatabaseRetrySeconds)} is {limitSeconds}), "
        + $"so the run stopped. Resume it from its newest durable checkpoint once the database is back. Last error: {inner.Message}",
        inner);
