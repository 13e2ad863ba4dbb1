using Dashboard.Data.Entities;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.IntegrationTests;

/// <summary>What a run that a database outage happened under must look like once it completed: as if none had.</summary>
internal static class OutageAssert
{
    /// <summary>
    /// <paramref name="finished"/> has no warning or error in its log, one metric row per epoch, only durable (or deleted)
    /// checkpoints whose files verify, no two rows for one checkpoint, and is bitwise <paramref name="straight"/> (the same
    /// config never interrupted): metrics, every step, the last weights.
    /// </summary>
    public static async Task NothingLostOrDuplicatedAsync(DashboardServer web, RunDto straight, RunDto finished)
    {
        var warnings = await web.ReadDatabaseAsync(db => db.RunLogEntries.Where(l => l.RunId == finished.Id && l.Level != RunLogLevel.Info).Select(l => l.Message).ToListAsync());
        Assert.Empty(warnings);

        var epochs = await web.ReadDatabaseAsync(db => db.EpochMetrics.Where(m => m.RunId == finished.Id).Select(m => m.Epoch).OrderBy(e => e).ToListAsync());
        Assert.Equal(Enumerable.Range(1, finished.Epochs), epochs);
        var checkpoints = await web.GetCheckpointsAsync(finished.Id);
        Assert.All(checkpoints, c => Assert.True(c.Status is CheckpointStatus.Durable or CheckpointStatus.Deleted, $"Checkpoint #{c.Id} is {c.Status}."));
        Assert.All(checkpoints.Where(c => c.IsDurable), c => Assert.Null(CheckpointDisk.Problem(web.CheckpointDirectory, c)));
        Assert.Equal(checkpoints.Count, checkpoints.Select(c => (c.Epoch, c.Step, c.Kind)).Distinct().Count());

        await ExactResumeSuite.AssertSameRunsAsync(web, straight, finished);
    }
}
