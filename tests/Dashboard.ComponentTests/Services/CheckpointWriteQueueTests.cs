using Dashboard.Runs.Execution;

namespace Dashboard.ComponentTests.Services;

/// <summary>
/// The observer's checkpoint writes: in order, one at a time, and the training thread held back only when the snapshots
/// waiting would pass the count or byte bound. Each write here is a task the test finishes, so "waits" is exact.
/// </summary>
public sealed class CheckpointWriteQueueTests
{
    private const long Small = 4L * 1024 * 1024;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static TaskCompletionSource Gate() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [Fact]
    public async Task WaitForRoomAsync_SmallSnapshotBehindOneWriteInFlight_DoesNotWait()
    {
        var queue = new CheckpointWriteQueue();
        var first = Gate();
        queue.Enqueue(Small, () => first.Task);

        var wait = queue.WaitForRoomAsync(Small);

        Assert.True(wait.IsCompletedSuccessfully, "a second small snapshot should queue behind the write in flight");
        first.SetResult();
        await queue.Last.WaitAsync(Patience);
    }

    [Fact]
    public async Task WaitForRoomAsync_TwoSnapshotsHeld_WaitsUntilTheOldestIsWritten()
    {
        var queue = new CheckpointWriteQueue();
        var first = Gate();
        var second = Gate();
        queue.Enqueue(Small, () => first.Task);
        queue.Enqueue(Small, () => second.Task);

        var wait = queue.WaitForRoomAsync(Small);
        await Task.Delay(100);
        Assert.False(wait.IsCompleted);

        first.SetResult();
        await wait.WaitAsync(Patience);
        second.SetResult();
        await queue.Last.WaitAsync(Patience);
    }

    [Fact]
    public async Task WaitForRoomAsync_SnapshotPastTheByteBound_WaitsForTheWriteInFlight()
    {
        var queue = new CheckpointWriteQueue();
        var first = Gate();
        queue.Enqueue(Small, () => first.Task);

        var wait = queue.WaitForRoomAsync(CheckpointWriteQueue.MaxBytes - Small + 1);
        await Task.Delay(100);
        Assert.False(wait.IsCompleted);

        first.SetResult();
        await wait.WaitAsync(Patience);

        // Nothing held: even a snapshot over the bound goes in at once.
        await queue.Last.WaitAsync(Patience);
        Assert.True(queue.WaitForRoomAsync(CheckpointWriteQueue.MaxBytes * 2).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Enqueue_TwoWrites_TheSecondStartsOnlyAfterTheFirstEnds()
    {
        var queue = new CheckpointWriteQueue();
        var first = Gate();
        var secondStarted = Gate();
        queue.Enqueue(Small, () => first.Task);
        queue.Enqueue(Small, () =>
        {
            secondStarted.SetResult();
            return Task.CompletedTask;
        });

        await Task.Delay(100);
        Assert.False(secondStarted.Task.IsCompleted);

        first.SetResult();
        await secondStarted.Task.WaitAsync(Patience);
        await queue.Last.WaitAsync(Patience);
    }

    [Fact]
    public async Task WaitForRoomAsync_AfterAFailedWrite_ThrowsAndTheWriteBehindItDoesNotRun()
    {
        var queue = new CheckpointWriteQueue();
        var ranAfter = false;
        queue.Enqueue(Small, () => Task.FromException(new IOException("disk gone")));
        queue.Enqueue(Small, () =>
        {
            ranAfter = true;
            return Task.CompletedTask;
        });

        await Assert.ThrowsAsync<IOException>(() => queue.Last.WaitAsync(Patience));
        await Assert.ThrowsAsync<IOException>(() => queue.WaitForRoomAsync(Small));
        Assert.False(ranAfter);
    }
}
