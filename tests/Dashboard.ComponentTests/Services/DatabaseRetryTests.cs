using System.Net.Sockets;
using Dashboard.Runs.Events;
using Dashboard.Runs.Options;
using Dashboard.Runs.Resilience;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Dashboard.ComponentTests.Services;

/// <summary>
/// The retry of a run's writes: which failures it waits out, that it gives up after <c>Training:DatabaseRetrySeconds</c>
/// with a clear error, and that pages are told while it waits. Real exceptions of both providers, no database needed.
/// </summary>
public sealed class DatabaseRetryTests
{
    private const int SqliteBusy = 5;
    private const int SqliteConstraint = 19;

    public static TheoryData<string, Exception, bool> Failures => new()
    {
        { "sqlite busy", new SqliteException("database is locked", SqliteBusy), true },
        { "sqlite constraint", new SqliteException("UNIQUE constraint failed", SqliteConstraint), false },
        { "admin_shutdown", new PostgresException("terminating connection due to administrator command", "FATAL", "FATAL", "57P01"), true },
        { "cannot_connect_now", new PostgresException("the database system is starting up", "FATAL", "FATAL", "57P03"), true },
        { "unique violation", new PostgresException("duplicate key value", "ERROR", "ERROR", "23505"), false },
        { "connection refused", new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused)), true },
        { "wrapped by EF", new DbUpdateException("An error occurred while saving", new PostgresException("x", "FATAL", "FATAL", "57P01")), true },
        { "not a database error", new InvalidOperationException("Sequence contains no elements"), false },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void IsTransient_KnownFailures_WaitsOutOnlyThoseThatPass(string what, Exception failure, bool transient) =>
        Assert.True(DatabaseErrors.IsTransient(failure) == transient, $"{what}: expected transient = {transient}");

    [Fact]
    public async Task RunAsync_TransientTwiceThenSucceeds_ReturnsAndTellsPagesBothWays()
    {
        var (retry, feed, changes) = Create(retrySeconds: 30);
        var attempts = 0;
        var seenDown = false;

        var result = await retry.RunAsync("a test write", () =>
        {
            seenDown |= !feed.DatabaseReachable;
            return ++attempts < 3 ? throw new SqliteException("database is locked", SqliteBusy) : Task.FromResult(42);
        });

        Assert.Equal(42, result);
        Assert.Equal(3, attempts);
        Assert.True(seenDown, "pages were not told the database was away");
        Assert.True(feed.DatabaseReachable);
        await Poll(() => changes.Count == 2);
        Assert.Equal([false, true], changes);
    }

    [Fact]
    public async Task RunAsync_NotTransient_ThrowsAtOnce()
    {
        var (retry, _, _) = Create(retrySeconds: 30);
        var attempts = 0;

        await Assert.ThrowsAsync<SqliteException>(() => retry.RunAsync("a test write", () =>
        {
            attempts++;
            throw new SqliteException("UNIQUE constraint failed", SqliteConstraint);
        }));

        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task RunAsync_DatabaseAwayPastTheLimit_FailsWithTheSettingInTheMessage()
    {
        var (retry, _, _) = Create(retrySeconds: 1);
        var attempts = 0;

        var error = await Assert.ThrowsAsync<DatabaseUnavailableException>(() => retry.RunAsync("storing the steps of run 7", () =>
        {
            attempts++;
            throw new PostgresException("the database system is shutting down", "FATAL", "FATAL", "57P03");
        }));

        Assert.InRange(attempts, 2, 4);
        Assert.Contains("storing the steps of run 7", error.Message, StringComparison.Ordinal);
        Assert.Contains("Training:DatabaseRetrySeconds is 1", error.Message, StringComparison.Ordinal);
        Assert.IsType<PostgresException>(error.InnerException);
    }

    private static (DatabaseRetry Retry, LiveFeedState Feed, List<bool> Changes) Create(int retrySeconds)
    {
        var feed = new LiveFeedState();
        var broadcaster = new TrainingEventBroadcaster(NullLogger<TrainingEventBroadcaster>.Instance);
        var changes = new List<bool>();
        broadcaster.Subscribe(e =>
        {
            if (e is LiveFeedChangedEvent changed)
            {
                lock (changes)
                {
                    changes.Add(changed.Connected);
                }
            }

            return Task.CompletedTask;
        });
        var options = Microsoft.Extensions.Options.Options.Create(new TrainingOptions { DatabaseRetrySeconds = retrySeconds });
        return (new DatabaseRetry(options, new DatabaseReachability(feed, broadcaster), NullLogger<DatabaseRetry>.Instance), feed, changes);
    }

    private static async Task Poll(Func<bool> done)
    {
        for (var i = 0; i < 100 && !done(); i++)
        {
            await Task.Delay(50);
        }
    }
}
