using System.Diagnostics;
using Dashboard.Runs.Options;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace Dashboard.Runs.Resilience;

/// <summary>
/// Waits out a database that went away for a moment (a PostgreSQL restart, a failover, SQLite busy): a Polly retry
/// repeats each attempt of a write with exponential backoff from 0.5 s up to 10 s apart (with jitter, so the writers of
/// several runs do not return in step) while the failure is transient (<see cref="DatabaseErrors"/>) and the write has
/// been failing for less than <c>Training:DatabaseRetrySeconds</c>; so it gives up at most one last wait (10 s) after
/// that, with <see cref="DatabaseUnavailableException"/>, whose message says what to do. An attempt must be whole: it
/// opens its own context and transaction, so a repeat never sees half of the one before. Whether a repeat may duplicate
/// what a lost acknowledgement hid is the caller's to rule out (upserts, deletes before inserts).
/// </summary>
/// Pages are told through <see cref="DatabaseReachability"/>: they say "reconnecting" and reload once a write gets
/// through again.
public sealed class DatabaseRetry
{
    public static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(0.5);

    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(10);

    private static readonly ResiliencePropertyKey<long> Started = new("dashboard.write-started");
    private static readonly ResiliencePropertyKey<string> What = new("dashboard.write-what");
    private static readonly ResiliencePropertyKey<int> Failures = new("dashboard.write-failures");

    private readonly IOptions<TrainingOptions> _options;
    private readonly DatabaseReachability _reachability;
    private readonly ILogger<DatabaseRetry> _logger;
    private readonly ResiliencePipeline _pipeline;

    public DatabaseRetry(IOptions<TrainingOptions> options, DatabaseReachability reachability, ILogger<DatabaseRetry> logger)
    {
        _options = options;
        _reachability = reachability;
        _logger = logger;
        _pipeline = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is { } e
                    && DatabaseErrors.IsTransient(e)
                    && !args.Context.CancellationToken.IsCancellationRequested
                    && Stopwatch.GetElapsedTime(args.Context.Properties.GetValue(Started, 0L)) < Limit),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = FirstDelay,
                MaxDelay = MaxDelay,
                MaxRetryAttempts = int.MaxValue,
                OnRetry = OnRetry,
            })
            .Build();
    }

    private TimeSpan Limit => TimeSpan.FromSeconds(_options.Value.DatabaseRetrySeconds);

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
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        var started = Stopwatch.GetTimestamp();
        context.Properties.Set(Started, started);
        context.Properties.Set(What, what);
        try
        {
            var result = await _pipeline.ExecuteAsync(static async (_, attempt) => await attempt(), context, attempt);
            if (context.Properties.TryGetValue(Failures, out var failures))
            {
                _reachability.Report(true);
                _logger.LogInformation("The database is back: {What} succeeded after {Failures} failed attempt(s) over {Seconds:F1} s.",
                    what, failures, Stopwatch.GetElapsedTime(started).TotalSeconds);
            }

            return result;
        }
        catch (Exception e) when (DatabaseErrors.IsTransient(e) && !cancellationToken.IsCancellationRequested)
        {
            // Still transient, so the retry stopped for the time limit.
            throw new DatabaseUnavailableException(what, Stopwatch.GetElapsedTime(started), _options.Value.DatabaseRetrySeconds, e);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private ValueTask OnRetry(OnRetryArguments<object> args)
    {
        var properties = args.Context.Properties;
        properties.Set(Failures, args.AttemptNumber + 1);
        _reachability.Report(false);
        _logger.LogWarning("The database is unreachable while {What} (attempt {Failures}, {Seconds:F1} s so far); trying again in {Wait:F1} s: {Message}",
            properties.GetValue(What, "writing"), args.AttemptNumber + 1, Stopwatch.GetElapsedTime(properties.GetValue(Started, 0L)).TotalSeconds,
            args.RetryDelay.TotalSeconds, args.Outcome.Exception?.Message);
        return ValueTask.CompletedTask;
    }
}

/// <summary>The database stayed unreachable past <c>Training:DatabaseRetrySeconds</c>: what was being stored could not be.</summary>
public sealed class DatabaseUnavailableException(string what, TimeSpan waited, int limitSeconds, Exception inner)
    : Exception(
        $"The database could not be reached for {waited.TotalSeconds:F0} s while {what} ({TrainingOptions.Section}:{nameof(TrainingOptions.DatabaseRetrySeconds)} is {limitSeconds}), "
        + $"so the run stopped. Resume it from its newest durable checkpoint once the database is back. Last error: {inner.Message}",
        inner);
