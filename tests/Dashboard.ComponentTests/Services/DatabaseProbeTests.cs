using Dashboard.ComponentTests.Support;
using Dashboard.Data;
using Dashboard.Runs.Events;
using Dashboard.Runs.Resilience;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dashboard.ComponentTests.Services;

/// <summary>
/// The probe that tells a web instance's pages whether the database answers, on a real SQLite file that another
/// connection holds locked (what a database that is away looks like to this process: every query fails busy).
/// </summary>
public sealed class DatabaseProbeTests : IAsyncLifetime
{
    private readonly LiveFeedState _feed = new();
    private readonly TrainingEventBroadcaster _broadcaster = new(NullLogger<TrainingEventBroadcaster>.Instance);
    private readonly List<bool> _changes = [];
    private TestDatabase? _database;
    private SqliteConnection? _lock;

    private TestDatabase Database => _database ?? throw new InvalidOperationException("Created in InitializeAsync.");

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _broadcaster.Subscribe(e =>
        {
            if (e is LiveFeedChangedEvent changed)
            {
                lock (_changes)
                {
                    _changes.Add(changed.Connected);
                }
            }

            return Task.CompletedTask;
        });
    }

    public async Task DisposeAsync()
    {
        Unlock();
        SqliteConnection.ClearAllPools();
        await Database.DisposeAsync();
    }

    [Fact]
    public async Task ProbeAsync_FileLockedThenReleased_ReportsUnreachableThenBackAndTellsPagesOnceEach()
    {
        var probe = CreateProbe();
        Assert.True(await probe.ProbeAsync());
        Assert.Empty(Changes());

        await LockAsync();
        Assert.False(await probe.ProbeAsync());
        Assert.False(await probe.ProbeAsync());
        Assert.False(_feed.DatabaseReachable);

        Unlock();
        Assert.True(await probe.ProbeAsync());
        Assert.True(_feed.DatabaseReachable);

        // Two failed probes, one change: pages hear "down" once and "back" once.
        await PollAsync(() => Changes().Count == 2, "both changes published");
        Assert.Equal([false, true], Changes());
    }

    [Fact]
    public async Task ExecuteAsync_NoPageWatching_NeverProbesAndAWatchingPageHearsOfTheOutageAndItsEnd()
    {
        var probe = CreateProbe();
        await LockAsync();
        await probe.StartAsync(CancellationToken.None);
        try
        {
            // No page open and no failed call: the locked file goes unnoticed, since nothing asks it anything.
            await Task.Delay(DatabaseProbe.Timeout + DatabaseProbe.DownInterval);
            Assert.True(_feed.DatabaseReachable);
            Assert.Empty(Changes());

            using (probe.Watch())
            {
                await PollAsync(() => !_feed.DatabaseReachable, "the watching page told the database is unreachable");
                Unlock();
                await PollAsync(() => _feed.DatabaseReachable, "the watching page told the database is back");
            }

            Assert.Equal(0, probe.Watchers);
            await PollAsync(() => Changes().Count == 2, "both changes published");
            Assert.Equal([false, true], Changes());
        }
        finally
        {
            await probe.StopAsync(CancellationToken.None);
        }
    }

    private DatabaseProbe CreateProbe() => new(
        new Contexts(Database),
        new DatabaseReachability(_feed, _broadcaster),
        NullLogger<DatabaseProbe>.Instance);

    /// <summary>
    /// An exclusive lock held by another connection until <see cref="Unlock"/>: in write-ahead-log mode readers pass a
    /// writer, so the connection takes the file for itself (exclusive locking mode) and writes, which keeps the lock.
    /// </summary>
    private async Task LockAsync()
    {
        // A pooled connection keeps the file's shared-memory index open, which lets it read past the lock.
        SqliteConnection.ClearAllPools();
        _lock = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Database.Path, Pooling = false, DefaultTimeout = 5 }.ToString());
        await _lock.OpenAsync();
        await using var command = _lock.CreateCommand();
        command.CommandText = "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; UPDATE Runs SET Name = Name;";
        await command.ExecuteNonQueryAsync();
    }

    private void Unlock()
    {
        _lock?.Dispose();
        _lock = null;
    }

    private List<bool> Changes()
    {
        lock (_changes)
        {
            return [.. _changes];
        }
    }

    /// <summary>The app's contexts on the test's file, through the factory interface the probe takes.</summary>
    private sealed class Contexts(TestDatabase database) : IDbContextFactory<DashboardDbContext>
    {
        public DashboardDbContext CreateDbContext() => database.CreateContext();
    }

    private static async Task PollAsync(Func<bool> done, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(50);
        }
    }
}
