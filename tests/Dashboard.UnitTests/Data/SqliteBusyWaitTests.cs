using System.Diagnostics;
using Dashboard.UnitTests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using SQLitePCL;

namespace Dashboard.UnitTests.Data;

/// <summary>
/// Two writers on the dashboard's database: the second waits for the first one's lock in SQLite, not in
/// Microsoft.Data.Sqlite's 150 ms sleep per SQLITE_BUSY, which made every write that overlapped another cost 150 ms
/// (bench figure 5: short epochs every ~157 ms instead of ~25 ms).
/// </summary>
public sealed class SqliteBusyWaitTests : IAsyncLifetime, IDisposable
{
    /// <summary>How long the first writer keeps its transaction open after the second has reached its lock.</summary>
    private static readonly TimeSpan Held = TimeSpan.FromMilliseconds(20);

    private readonly TempDatabase _database = new();

    public Task InitializeAsync() => _database.MigrateAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task BeginTransaction_AnotherWriterCommitsSoon_WaitsInSqliteWithoutTheDriversRetries()
    {
        // Counted, not timed: a wait measured here was once 0.5-1 s in CI with the fix in place, most likely because
        // the other unit tests' training kept the thread pool busy and the continuations that commit and time were
        // late. What the fix changes is who waits. Without a busy timeout BEGIN's first step returns SQLITE_BUSY (the
        // lock is held) and the driver resets the statement, sleeps 150 ms and steps it again, so SQLite starts BEGIN
        // at least twice; waiting inside SQLite, it starts BEGIN once, however late the first writer commits.
        await using var first = _database.CreateContext();
        // BEGIN IMMEDIATE: the write lock is taken at once.
        await using var holding = await first.Database.BeginTransactionAsync();

        await using var second = _database.CreateContext();
        await second.Database.OpenConnectionAsync();
        var handle = ((SqliteConnection)second.Database.GetDbConnection()).Handle!;
        var begins = 0;
        var begun = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        raw.sqlite3_trace(handle, (_, statement) =>
        {
            if (statement.utf8_to_string().StartsWith("BEGIN", StringComparison.OrdinalIgnoreCase))
            {
                Interlocked.Increment(ref begins);
                begun.TrySetResult();
            }
        }, null);
        try
        {
            var waiting = Task.Run(async () =>
            {
                await using var transaction = await second.Database.BeginTransactionAsync();
                await transaction.CommitAsync();
            });
            await begun.Task.WaitAsync(TimeSpan.FromSeconds(30));
            // The second writer's step is now at the held lock: without the fix it has had its SQLITE_BUSY.
            await Task.Delay(Held);
            Assert.False(waiting.IsCompleted, "the second writer began while the first held the lock");
            await holding.CommitAsync();
            await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            // The handle goes back to the pool; the next user must not call into this test.
            raw.sqlite3_trace(handle, (delegate_trace?)null, null);
        }

        Assert.Equal(1, Volatile.Read(ref begins));
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
}
