using System.Diagnostics;
using Dashboard.UnitTests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.UnitTests.Data;

/// <summary>
/// Two writers on the dashboard's database: the second waits for the first one's lock in SQLite, not in
/// Microsoft.Data.Sqlite's 150 ms sleep per SQLITE_BUSY, which made every write that overlapped another cost 150 ms
/// (bench figure 5: short epochs every ~157 ms instead of ~25 ms).
/// </summary>
public sealed class SqliteBusyWaitTests : IAsyncLifetime, IDisposable
{
    /// <summary>How long the first writer keeps its transaction open after the second starts waiting.</summary>
    private static readonly TimeSpan Held = TimeSpan.FromMilliseconds(20);

    private readonly TempDatabase _database = new();

    public Task InitializeAsync() => _database.MigrateAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task BeginTransaction_AnotherWriterCommitsSoon_GetsTheLockWithoutTheDriversSleep()
    {
        // The fastest of a few tries, so a busy machine's scheduling delays do not decide it: with the driver's sleep no
        // try can finish under 150 ms; waiting in SQLite, one finishes a few ms after the first writer commits.
        var waits = new List<TimeSpan>();
        for (var i = 0; i < 5; i++)
        {
            waits.Add(await SecondWritersWaitAsync());
        }

        Assert.True(waits.Min() < TimeSpan.FromMilliseconds(120),
            $"the second writer waited {string.Join(", ", waits.Select(w => $"{w.TotalMilliseconds:F0}"))} ms for a lock held {Held.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task OpenConnection_DashboardContext_HasTheConnectionsTimeoutAsBusyTimeout()
    {
        await using var db = _database.CreateContext();
        await db.Database.OpenConnectionAsync();
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = "PRAGMA busy_timeout";

        Assert.Equal(30_000L, (long)(await command.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task Execute_CommandTimeoutShorterThanTheConnections_GivesUpAfterTheCommandsTimeout()
    {
        await using var first = _database.CreateContext();
        await using var holding = await first.Database.BeginTransactionAsync();

        // A caller that must not wait long (the database probe) shortens its commands' timeout: SQLite's busy wait has
        // to end there too, not at the connection's 30 s.
        await using var second = _database.CreateContext();
        second.Database.SetCommandTimeout(TimeSpan.FromSeconds(1));
        var started = Stopwatch.GetTimestamp();
        await Assert.ThrowsAsync<SqliteException>(() => second.Database.ExecuteSqlRawAsync("""UPDATE "Runs" SET "Name" = "Name" """));
        var waited = Stopwatch.GetElapsedTime(started);

        Assert.True(waited < TimeSpan.FromSeconds(10), $"the write behind a held lock gave up after {waited.TotalSeconds:F1} s, not its command's 1 s");
        await holding.RollbackAsync();
    }

    /// <summary>The time a second writer's transaction takes to begin while the first holds the write lock for <see cref="Held"/>.</summary>
    private async Task<TimeSpan> SecondWritersWaitAsync()
    {
        await using var first = _database.CreateContext();
        // BEGIN IMMEDIATE: the write lock is taken at once.
        await using var holding = await first.Database.BeginTransactionAsync();

        await using var second = _database.CreateContext();
        await second.Database.OpenConnectionAsync();
        var started = Stopwatch.GetTimestamp();
        var waiting = Task.Run(async () =>
        {
            await using var transaction = await second.Database.BeginTransactionAsync();
            var waited = Stopwatch.GetElapsedTime(started);
            await transaction.CommitAsync();
            return waited;
        });
        await Task.Delay(Held);
        Assert.False(waiting.IsCompleted, "the second writer began while the first held the lock");
        await holding.CommitAsync();
        return await waiting;
    }
}
