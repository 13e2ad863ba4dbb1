using System.Collections.Concurrent;
using System.Threading.Channels;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Resilience;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Runs.Logging;

/// <summary>
/// The one reader of the run log's queue: stores what has queued up in one transaction per batch, keeps each run's log to
/// its line cap (one line then says the rest are dropped), skips lines of runs deleted meanwhile, and broadcasts each line
/// once stored. A batch waits out a database that is away (<see cref="DatabaseRetry"/>), holding up the lines behind it,
/// which the bounded queue then drops and counts; a batch that still fails is reported to the console and dropped, and the
/// run goes on. A repeat after a commit whose acknowledgement was lost stores its lines twice: log lines have no key to
/// recognise them by, and a line shown twice in that rare case is better than every line of an outage lost.
/// </summary>
internal sealed class RunLogWriter(
    IDbContextFactory<DashboardDbContext> dbFactory,
    TrainingEventBroadcaster broadcaster,
    int maxLinesPerRun,
    DatabaseRetry retry,
    ILogger logger)
{
    /// <summary>Lines stored in one transaction at most; more wait for the next.</summary>
    private const int BatchSize = 500;

    /// <summary>Lines each run lost because the queue was full, told in the run's log when the writer catches up.</summary>
    private readonly ConcurrentDictionary<int, int> _dropped = new();

    public static string CapReached(int max) => $"This run's log reached {max} lines; later lines are dropped.";

    public static string QueueOverflow(int count) => $"{count} log line(s) were dropped: lines came faster than they could be stored.";

    /// <summary>The queue's callback for a line that did not fit.</summary>
    public void Dropped(PendingLine line)
    {
        if (line.Flushed is { } flushed)
        {
            flushed.TrySetResult();
            return;
        }

        _dropped.AddOrUpdate(line.RunId, 1, (_, count) => count + 1);
    }

    public async Task RunAsync(ChannelReader<PendingLine> reader)
    {
        var batch = new List<PendingLine>(BatchSize);
        while (await reader.WaitToReadAsync())
        {
            while (batch.Count < BatchSize && reader.TryRead(out var line))
            {
                batch.Add(line);
            }

            await WriteAsync(batch);
            batch.Clear();
        }

        await WriteAsync(batch); // only the overflow notes, if any
    }

    private async Task WriteAsync(List<PendingLine> batch)
    {
        var lines = batch.Where(l => l.Flushed is null).ToList();
        foreach (var runId in _dropped.Keys)
        {
            if (_dropped.TryRemove(runId, out var count))
            {
                lines.Add(new PendingLine(runId, DateTime.UtcNow, RunLogLevel.Warning, QueueOverflow(count), null));
            }
        }

        try
        {
            if (lines.Count > 0)
            {
                foreach (var stored in await retry.RunAsync("storing run log lines", () => StoreAsync(lines)))
                {
                    broadcaster.Publish(new RunLogEvent(stored.RunId, RunLogLineDto.From(stored)));
                }
            }
        }
        catch (Exception e)
        {
            // The log is the run's record, not part of its work: a failed write is told here and training goes on.
            logger.LogWarning(e, "{Count} run log line(s) could not be stored.", lines.Count);
        }
        finally
        {
            foreach (var marker in batch)
            {
                marker.Flushed?.TrySetResult();
            }
        }
    }

    private async Task<List<RunLogEntry>> StoreAsync(List<PendingLine> lines)
    {
        await using var db = await dbFactory.CreateDbContextAsync();

        // Immediate, so the runs read here cannot be deleted before the lines go in (the foreign key would fail the batch).
        await using var transaction = await db.Database.BeginTransactionAsync();
        var runIds = lines.Select(l => l.RunId).Distinct().ToList();
        var counts = await db.Runs.Where(r => runIds.Contains(r.Id))
            .Select(r => new { r.Id, Count = db.RunLogEntries.Count(l => l.RunId == r.Id) })
            .ToDictionaryAsync(r => r.Id, r => r.Count);

        var rows = new List<RunLogEntry>(lines.Count);
        foreach (var run in lines.GroupBy(l => l.RunId))
        {
            if (!counts.TryGetValue(run.Key, out var existing))
            {
                continue; // deleted while its lines waited
            }

            // Room for the cap's lines, then one more saying the rest are dropped; once that is there, nothing more.
            var room = Math.Max(0, maxLinesPerRun - existing);
            rows.AddRange(run.Take(room).Select(l => new RunLogEntry { RunId = l.RunId, Time = l.Time, Level = l.Level, Message = l.Message }));
            if (run.Count() > room && existing <= maxLinesPerRun)
            {
                rows.Add(new RunLogEntry { RunId = run.Key, Time = DateTime.UtcNow, Level = RunLogLevel.Warning, Message = CapReached(maxLinesPerRun) });
            }
        }

        db.RunLogEntries.AddRange(rows);
        await db.SaveChangesAsync();
        await transaction.CommitAsync();
        return rows;
    }
}
