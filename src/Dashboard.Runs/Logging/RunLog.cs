using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Options;
using Dashboard.Runs.Resilience;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Dashboard.Runs.Logging;

/// <summary>
/// A run's own log: what it did, line by line, stored with the run. Writing never waits for the disk: a line is cut to
/// the length cap and queued, and one background writer stores queued lines in batches (see <see cref="RunLogWriter"/>),
/// then broadcasts each as a <see cref="RunLogEvent"/>. Anything that goes wrong there is the console's business and never
/// the run's.
/// </summary>
public sealed class RunLog : IAsyncDisposable
{
    private readonly IDbContextFactory<DashboardDbContext> _dbFactory;
    private readonly RunLogOptions _options;
    private readonly Channel<PendingLine> _queue;
    private readonly RunLogWriter _writer;
    private readonly Task _writing;

    public RunLog(
        IDbContextFactory<DashboardDbContext> dbFactory,
        TrainingEventBroadcaster broadcaster,
        IOptions<RunLogOptions> options,
        DatabaseRetry retry,
        ILogger<RunLog> logger)
    {
        _dbFactory = dbFactory;
        _options = options.Value;
        _writer = new RunLogWriter(dbFactory, broadcaster, _options.MaxLinesPerRun, retry, logger);

        // Bounded, dropping what does not fit: a writer that fell behind must not grow memory or hold up training.
        _queue = Channel.CreateBounded<PendingLine>(
            new BoundedChannelOptions(_options.QueueCapacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true },
            _writer.Dropped);
        _writing = Task.Run(() => _writer.RunAsync(_queue.Reader));
    }

    public void Info(int runId, string message) => Add(runId, RunLogLevel.Info, message);

    public void Warning(int runId, string message) => Add(runId, RunLogLevel.Warning, message);

    public void Error(int runId, string message) => Add(runId, RunLogLevel.Error, message);

    /// <summary>An error with the whole exception: its type, message, inner exceptions and stack trace, as one message.</summary>
    public void Error(int runId, string message, Exception exception) =>
        Add(runId, RunLogLevel.Error, $"{message}{Environment.NewLine}{exception}");

    /// <summary>Completes once every line queued before the call is stored (or dropped).</summary>
    public Task FlushAsync()
    {
        var flushed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite(new PendingLine(0, default, "", "", flushed)))
        {
            flushed.TrySetResult(); // the log is closed: nothing more will be written
        }

        return flushed.Task;
    }

    /// <summary>True when the run exists (its log may still be empty).</summary>
    public async Task<bool> HasRunAsync(int runId, CancellationToken cancellationToken = default)
    {
        await using var db = await _dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Runs.AnyAsync(r => r.Id == runId, cancellationToken);
    }

    /// <summary>
    /// The run's stored lines in order, read as they are enumerated, so a long log is streamed rather than held. Check the
    /// run with <see cref="HasRunAsync"/> first: an unknown run reads as empty.
    /// </summary>
    public async IAsyncEnumerable<RunLogLineDto> ReadAsync(
        int runId, RunLogQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var levels = RunLogLevel.AtLeast(query.MinLevel) ?? RunLogLevel.All;
        await using var db = await _dbFactory.CreateDbContextAsync(cancellationToken);
        var lines = db.RunLogEntries.AsNoTracking()
            .Where(l => l.RunId == runId && l.Id > query.After && levels.Contains(l.Level))
            .OrderBy(l => l.Id)
            .AsAsyncEnumerable();
        await foreach (var line in lines.WithCancellation(cancellationToken))
        {
            yield return RunLogLineDto.From(line);
        }
    }

    /// <summary>Stores what is still queued, then stops the writer.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writing;
    }

    private void Add(int runId, string level, string message)
    {
        var max = _options.MaxMessageChars;
        if (message.Length > max)
        {
            message = $"{message[..max]}… [{message.Length - max} more characters cut]";
        }

        _queue.Writer.TryWrite(new PendingLine(runId, DateTime.UtcNow, level, message, null));
    }
}

/// <summary>A line waiting to be stored, or (with <see cref="Flushed"/>) a marker completed once those before it are.</summary>
internal sealed record PendingLine(int RunId, DateTime Time, string Level, string Message, TaskCompletionSource? Flushed);
