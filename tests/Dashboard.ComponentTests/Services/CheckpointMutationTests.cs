using Dashboard.ComponentTests.Support;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Runs;
using Dashboard.Runs.Checkpoints;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Services;

/// <summary>
/// What may happen to a checkpoint while something else acts on it: pins against deletes, the start of a queued run
/// against deletion, and reads that fail for reasons other than damage. The service runs on a real SQLite file and real
/// checkpoint folders; a gate holds one query so a race is played out in a chosen order rather than hoped for.
/// </summary>
public sealed class CheckpointMutationTests : DashboardTestContext
{
    private CheckpointLoader Loader => Services.GetRequiredService<CheckpointLoader>();

    private CheckpointMaintenance Maintenance => Services.GetRequiredService<CheckpointMaintenance>();

    private CheckpointQueries Queries => Services.GetRequiredService<CheckpointQueries>();

    [Fact]
    public async Task SetPinned_WhileADeleteIsBetweenItsChecksAndTheRemoval_WaitsAndIsRefused()
    {
        var run = await Database.AddRunAsync("pin-race");
        var checkpoint = await Database.AddCheckpointAsync(run.Id, 1, 0.5);

        // The delete has read the row (unpinned) and now asks whether a run needs it: the first query on Runs.
        var gate = new QueryGate(nameof(DashboardDbContext.Runs));
        Services.ConfigureDbContext<DashboardDbContext>(options => options.AddInterceptors(gate));
        var delete = Task.Run(() => Maintenance.DeleteAsync(checkpoint.Id));
        await gate.Reached;
        var pin = Task.Run(() => Maintenance.SetPinnedAsync(checkpoint.Id, pinned: true));
        await Task.WhenAny(pin, Task.Delay(TimeSpan.FromMilliseconds(500)));
        gate.Release();

        Assert.Equal(204, (await delete).Status);
        Assert.Equal(409, (await pin).Status);
        var row = await Queries.GetAsync(checkpoint.Id);
        Assert.Equal(CheckpointStatus.Deleted, row!.Status);
        Assert.False(row.Pinned);
    }

    [Fact]
    public async Task SetPinned_DeletedCheckpoint_Returns409AndUnpinStillWorks()
    {
        var run = await Database.AddRunAsync("pin-deleted");
        var checkpoint = await Database.AddCheckpointAsync(run.Id, 1, 0.5, status: CheckpointStatus.Deleted);

        var pinned = await Maintenance.SetPinnedAsync(checkpoint.Id, pinned: true);
        var unpinned = await Maintenance.SetPinnedAsync(checkpoint.Id, pinned: false);

        Assert.Equal(409, pinned.Status);
        Assert.Contains("deleted", pinned.Problem, StringComparison.Ordinal);
        Assert.Equal(204, unpinned.Status);
        Assert.False((await Queries.GetAsync(checkpoint.Id))!.Pinned);
    }

    [Fact]
    public async Task Start_InterruptedRunAutoResumed_RecordsItsNewestCheckpointAndRefusesToDeleteIt()
    {
        var run = await Database.AddRunAsync("crashed", status: RunStatus.Interrupted);
        await Database.AddCheckpointAsync(run.Id, 1, 0.5);
        var newest = await Database.AddCheckpointAsync(run.Id, 2, 0.4);
        await WriteCheckpointFilesAsync(run.Id);

        await ActivatorUtilities.CreateInstance<StartupService>(Services).StartAsync(CancellationToken.None);

        await using (var db = Database.CreateContext())
        {
            var queued = await db.Runs.SingleAsync(r => r.Id == run.Id);
            Assert.Equal(RunStatus.Queued, queued.Status);
            Assert.Equal(newest.Id, queued.StartCheckpointId);
        }

        var delete = await Maintenance.DeleteAsync(newest.Id);
        Assert.Equal(409, delete.Status);
        Assert.Contains("starting point", delete.Problem, StringComparison.Ordinal);
        Assert.Equal(CheckpointStatus.Durable, (await Queries.GetAsync(newest.Id))!.Status);
    }

    [Fact]
    public async Task LoadDurable_FileThatCannotBeOpened_Returns409AndLeavesTheCheckpointDurable()
    {
        var run = await Database.AddRunAsync("unreadable");
        var checkpoint = await Database.AddCheckpointAsync(run.Id, 1, 0.5);
        await WriteCheckpointFilesAsync(run.Id);

        // A directory where the weights file should be: opening it fails with an access error, as an unreadable file does.
        // (The tests may run as root, for whom permission bits deny nothing.)
        var store = Services.GetRequiredService<CheckpointStore>();
        var weights = store.PathOf((await PathOfAsync(checkpoint.Id)), CheckpointStore.WeightsFile);
        File.Delete(weights);
        Directory.CreateDirectory(weights);

        var result = await Loader.LoadDurableAsync(checkpoint.Id);

        Assert.Equal(409, result.Status);
        Assert.Contains("cannot be read now", result.Problem, StringComparison.Ordinal);
        Assert.Equal(CheckpointStatus.Durable, (await Queries.GetAsync(checkpoint.Id))!.Status);
    }

    private async Task<string> PathOfAsync(int checkpointId)
    {
        await using var db = Database.CreateContext();
        return await db.Checkpoints.Where(c => c.Id == checkpointId).Select(c => c.Path).SingleAsync();
    }
}
