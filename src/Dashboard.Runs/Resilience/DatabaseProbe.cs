using System.Threading.Channels;
using Dashboard.Data;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Runs.Resilience;

/// <summary>
/// Tells a process's pages whether the database answers when nothing else there would: a web instance with
/// <c>Training:EmbeddedWorker=false</c> writes nothing while a run trains (its worker does, and the worker's retry is the
/// worker's own), so without this its run pages would not say "reconnecting" during an outage, nor reload after it.
/// It asks the database a one-row question, bounded in rate and time, only while it is needed: while a page watches
/// (<see cref="Watch"/>), once a call failed with a transient error (<see cref="Suspect"/>), and while the database is
/// known to be away (whoever found that out), until it answers. A process with no page open and no failing call never
/// probes. Changes go through <see cref="DatabaseReachability"/>, as the retry's do.
/// </summary>
public sealed class DatabaseProbe(
    IDbContextFactory<DashboardDbContext> dbFactory,
    DatabaseReachability reachability,
    ILogger<DatabaseProbe> logger) : BackgroundService
{
    /// <summary>Between probes while pages watch and the database answers: how late a page may learn of an outage.</summary>
    public static readonly TimeSpan WatchInterval = TimeSpan.FromSeconds(5);

    /// <summary>Between probes while the database is away: how late a page may learn it is back.</summary>
    public static readonly TimeSpan DownInterval = TimeSpan.FromSeconds(2);

    /// <summary>A probe unanswered for this long counts as an unreachable database (a server that accepts but never answers).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    // One pending wake-up is enough: the loop reads the state afresh each time it wakes.
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private int _watchers;
    private volatile bool _suspected;

    /// <summary>How many pages watch now.</summary>
    public int Watchers => Volatile.Read(ref _watchers);

    /// <summary>A page that shows the database's state opens: probed while at least one such page is open. Dispose on close.</summary>
    public IDisposable Watch()
    {
        Interlocked.Increment(ref _watchers);
        _wake.Writer.TryWrite(true);
        return new Watcher(this);
    }

    /// <summary>A call failed with a transient database error (a request answered 503, a page that could not load): probe soon.</summary>
    public void Suspect()
    {
        _suspected = true;
        _wake.Writer.TryWrite(true);
    }

    private bool Needed => Watchers > 0 || _suspected || !reachability.Reachable;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (!Needed)
                {
                    await _wake.Reader.ReadAsync(stoppingToken);
                    continue;
                }

                _suspected = false;
                await ProbeAsync(stoppingToken);

                // Always a pause after a probe, whatever wakes the loop meanwhile: at most one probe per interval.
                await Task.Delay(reachability.Reachable ? WatchInterval : DownInterval, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }

    /// <summary>Asks the database once and reports what it found; true when it answered.</summary>
    public async Task<bool> ProbeAsync(CancellationToken cancellationToken = default)
    {
        string? failure = null;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(Timeout);
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync(limit.Token);

            // SQLite's busy wait ends at the command timeout, whatever the token says.
            db.Database.SetCommandTimeout(Timeout);

            // A read of a table, as a page's load is (at most one row): it needs what a page needs, not only a session.
            await db.Runs.AsNoTracking().AnyAsync(limit.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            failure = $"no answer within {Timeout.TotalSeconds:0} s";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Whatever the error, the pages could not load either; only the change of state is logged, not each probe.
            // The innermost message names the cause (refused, shutting down), EF's wrapper only says "transient".
            failure = e.GetBaseException().Message;
        }

        if (reachability.Report(failure is null))
        {
            if (failure is null)
            {
                logger.LogInformation("The database answers again; open run pages reload from it.");
            }
            else
            {
                logger.LogWarning("The database does not answer ({Failure}); open run pages say it is unreachable until it does.", failure);
            }
        }

        return failure is null;
    }

    private sealed class Watcher(DatabaseProbe probe) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref probe._watchers);
            }
        }
    }
}
