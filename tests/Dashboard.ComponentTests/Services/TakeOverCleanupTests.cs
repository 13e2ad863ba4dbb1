using System.Data.Common;
using Dashboard.ComponentTests.Support;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Runs.Execution;
using Dashboard.Runs.Logging;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Services;

/// <summary>
/// What a replaced lease holder leaves in the checkpoint folder, with real folders and a real (tiny) spirals run trained
/// by the executor on the test's SQLite file: torn writes go when the run is taken over, and a folder whose row the fence
/// refused goes with the refusal.
/// </summary>
public sealed class TakeOverCleanupTests : DashboardTestContext
{
    private CheckpointStore Store => Services.GetRequiredService<CheckpointStore>();

    [Fact]
    public async Task Execute_RunTakenOverFromADeadHolder_RemovesTheTornWritesItLeft()
    {
        // A worker killed mid-write: its run still says running under a lease nobody renews, and its write's temporary
        // folder is there with half its files.
        var run = await Database.AddRunAsync("taken over", RunStatus.Running, epochs: 1, configure: r =>
        {
            r.LeaseToken = 4;
            r.LeaseRenewedAt = DateTime.UtcNow.AddHours(-1);
            r.Worker = "dead-worker";
        });
        var runFolder = Path.Combine(Store.Root, CheckpointStore.RunFolder(run.Id));
        var torn = Path.Combine(runFolder, $"epoch-1-regular{CheckpointStore.TemporaryMarker}{Guid.NewGuid():N}");
        Directory.CreateDirectory(torn);
        await File.WriteAllBytesAsync(Path.Combine(torn, CheckpointStore.WeightsFile), new byte[1000]);

        // A deletion another process has under way is that process's to finish.
        var deleting = Path.Combine(runFolder, $"epoch-0-regular{CheckpointStore.TemporaryMarker}deleting-{Guid.NewGuid():N}");
        Directory.CreateDirectory(deleting);

        await Services.GetRequiredService<RunExecutor>().ExecuteAsync(run.Id, CancellationToken.None);
        await Services.GetRequiredService<RunLog>().FlushAsync();

        await using var db = Database.CreateContext();
        var ended = await db.Runs.SingleAsync(r => r.Id == run.Id);
        Assert.Equal((RunStatus.Completed, 5L), (ended.Status, ended.LeaseToken));
        Assert.False(Directory.Exists(torn), "the dead holder's torn write is still there");
        Assert.True(Directory.Exists(deleting), "another process's deletion was taken out from under it");
        Assert.Contains(
            await db.RunLogEntries.Where(e => e.RunId == run.Id).Select(e => e.Message).ToListAsync(),
            m => m.StartsWith($"Removed {Path.GetFileName(torn)}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Execute_FencedOnceItsCheckpointFolderIsOnDisk_RemovesThatFolder()
    {
        var run = await Database.AddRunAsync("fenced", RunStatus.Queued, epochs: 3);
        var fence = new TakeOverAfterFilesWritten(run.Id, () => Store); // the store is resolved once services are built
        Services.ConfigureDbContext<DashboardDbContext>(options => options.AddInterceptors(fence));

        await Services.GetRequiredService<RunExecutor>().ExecuteAsync(run.Id, CancellationToken.None);

        var refused = Assert.Single(fence.Refused);
        Assert.False(Store.FolderExists(refused), $"{refused} was left on disk though its row was refused");
        Assert.DoesNotContain(Store.ListFolders(), f => f.StartsWith(CheckpointStore.RunFolder(run.Id) + "/", StringComparison.Ordinal));

        // The process that lost the run recorded nothing more for it: not the checkpoint, not an ending.
        await using var db = Database.CreateContext();
        Assert.Equal(RunStatus.Running, (await db.Runs.SingleAsync(r => r.Id == run.Id)).Status);
        Assert.DoesNotContain(await db.Checkpoints.Where(c => c.RunId == run.Id).ToListAsync(), c => c.Status == CheckpointStatus.Durable);
    }

    /// <summary>
    /// Moves the run's token on at the first fence check after one of the run's checkpoint folders reached its final name,
    /// as a take-over by another process at that moment would: that check is the one of the checkpoint's own row or an
    /// earlier write, and either way the row is refused. The move is made in the check's own transaction (SQLite lets no
    /// other connection write while it is open), so the check sees another token and refuses; the refused transaction
    /// rolls the move back, so every later check is refused the same way, as after a real take-over.
    /// </summary>
    private sealed class TakeOverAfterFilesWritten(int runId, Func<CheckpointStore> store) : DbCommandInterceptor
    {
        private readonly List<string> _refused = [];

        public IReadOnlyList<string> Refused
        {
            get
            {
                lock (_refused)
                {
                    return [.. _refused];
                }
            }
        }

        public override async ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
            DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
        {
            var written = command.CommandText.Contains("UPDATE \"Runs\"", StringComparison.Ordinal) && command.CommandText.Contains("\"LeaseRenewedAt\"", StringComparison.Ordinal)
                ? store().ListFolders().FirstOrDefault(f => f.StartsWith(CheckpointStore.RunFolder(runId) + "/", StringComparison.Ordinal))
                : null;
            if (written is not null)
            {
                lock (_refused)
                {
                    if (_refused.Count == 0)
                    {
                        _refused.Add(written);
                    }
                }

                await using var takeOver = command.Connection!.CreateCommand();
                takeOver.Transaction = command.Transaction;
                takeOver.CommandText = $"UPDATE \"Runs\" SET \"LeaseToken\" = \"LeaseToken\" + 1 WHERE \"Id\" = {runId}";
                await takeOver.ExecuteNonQueryAsync(cancellationToken);
            }

            return result;
        }
    }
}
