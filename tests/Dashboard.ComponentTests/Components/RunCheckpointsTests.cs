using Dashboard.Data.Entities;
using Dashboard.Web.Components;
using static Dashboard.ComponentTests.Support.TestData;

namespace Dashboard.ComponentTests.Components;

public sealed class RunCheckpointsTests
{
    [Fact]
    public void Add_NewCheckpoint_AppendsItAndMovesTheVersion()
    {
        var checkpoints = new RunCheckpoints([Checkpoint(1, 1, 0.9)]);

        Assert.True(checkpoints.Add(Checkpoint(2, 2, 0.5)));

        Assert.Equal([1, 2], checkpoints.Select(c => c.Id));
        Assert.Equal(1, checkpoints.Version);
    }

    [Fact]
    public void Add_KnownCheckpoint_KeepsTheKnownStateAndVersion()
    {
        // A replayed "saved" event must not undo a later change, e.g. a removal.
        var checkpoints = new RunCheckpoints([Checkpoint(1, 1, 0.9, status: CheckpointStatus.Deleted)]);

        Assert.False(checkpoints.Add(Checkpoint(1, 1, 0.9)));

        Assert.Equal(CheckpointStatus.Deleted, Assert.Single(checkpoints).Status);
        Assert.Equal(0, checkpoints.Version);
    }

    [Fact]
    public void Add_KnownAsWritingWhenRead_TakesTheSavedState()
    {
        // The page read the run's checkpoints while one's files were being written; its "saved" event comes after.
        var checkpoints = new RunCheckpoints([Checkpoint(1, 1, 0.9), Checkpoint(2, 2, 0.5, status: CheckpointStatus.Writing)]);

        Assert.True(checkpoints.Add(Checkpoint(2, 2, 0.5)));

        Assert.Equal([1, 2], checkpoints.Select(c => c.Id));
        Assert.Equal(CheckpointStatus.Durable, checkpoints.Find(2)!.Status);
        Assert.Equal(1, checkpoints.Version);
    }

    [Fact]
    public void Load_ReadThatStartedBeforeEventsWereHeard_KeepsWhatTheEventsBrought()
    {
        // The page subscribes, then reads; a checkpoint saved (and one pinned) while the read was in flight arrives as an
        // event first, and the read, begun before, does not have it. Overwriting would lose the marker of that epoch.
        var checkpoints = new RunCheckpoints();
        checkpoints.Add(Checkpoint(4, 4, 0.38));
        checkpoints.Update(Checkpoint(2, 2, 0.41, pinned: true));

        checkpoints.Load([Checkpoint(1, 1, 0.62), Checkpoint(2, 2, 0.41), Checkpoint(3, 3, 0.39)]);

        Assert.Equal([1, 2, 3, 4], checkpoints.Select(c => c.Id));
        Assert.True(checkpoints.Find(2)!.Pinned);
    }

    [Fact]
    public void Update_KnownCheckpoint_ReplacesItInPlace()
    {
        var checkpoints = new RunCheckpoints([Checkpoint(1, 1, 0.9), Checkpoint(2, 2, 0.5)]);

        checkpoints.Update(Checkpoint(1, 1, 0.9, pinned: true));

        Assert.Equal([1, 2], checkpoints.Select(c => c.Id));
        Assert.True(checkpoints.Find(1)!.Pinned);
        Assert.Equal(1, checkpoints.Version);
    }

    [Fact]
    public void Update_UnknownCheckpoint_AddsIt()
    {
        var checkpoints = new RunCheckpoints();

        checkpoints.Update(Checkpoint(3, 1, 0.9, status: CheckpointStatus.Missing));

        Assert.Equal(CheckpointStatus.Missing, checkpoints.Find(3)!.Status);
        Assert.Null(checkpoints.Find(4));
    }

    [Fact]
    public void Reset_ReadAgain_ReplacesEverythingAndMovesTheVersion()
    {
        var checkpoints = new RunCheckpoints([Checkpoint(1, 1, 0.9)]);
        var before = checkpoints.ToList();

        checkpoints.Reset([Checkpoint(5, 1, 0.9), Checkpoint(6, 2, 0.4)]);

        Assert.Equal([5, 6], checkpoints.Select(c => c.Id));
        Assert.Equal(1, checkpoints.Version);
        Assert.Equal([1], before.Select(c => c.Id));
    }
}
