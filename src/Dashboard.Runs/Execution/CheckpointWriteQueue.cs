using Dashboard.Engine.Checkpoints;

namespace Dashboard.Runs.Execution;

/// <summary>
/// One run's checkpoint writes, one after another in the order they were handed over, with the snapshots waiting for
/// them held in memory up to a bound. The training thread waits only when a new snapshot would not fit, so a write that
/// takes a little longer than an epoch (a few fsyncs on a busy disk) no longer stalls the next epoch, while a slow disk
/// still makes training wait instead of piling snapshots up.
/// </summary>
internal sealed class CheckpointWriteQueue
{
    /// <summary>
    /// Snapshots held for writing at most, the one being written included (so one waits behind it). Two is enough to ride
    /// out one slow write; more would only hide a disk that cannot keep up, at the cost of memory.
    /// </summary>
    public const int MaxSnapshots = 2;

    /// <summary>
    /// Bytes held for writing at most. A small model's snapshots (the MNIST CNN's: 1.2 MiB of weights, 2.4 MiB of Adam
    /// moments) queue two deep well under it; a large model's (figure 2a's MLP: 140 MB) never queue, and wait for the write
    /// before them exactly as with one write at a time. A snapshot larger than this still goes in once nothing is held.
    /// </summary>
    public const long MaxBytes = 64L * 1024 * 1024;

    // Touched only on the training thread: the observer's calls, then the drain.
    private readonly Queue<(Task Written, long Bytes)> _held = new();
    private Task _last = Task.CompletedTask;

    /// <summary>Completes once every write handed over so far has ended; faults with the first failure among them.</summary>
    public Task Last => _last;

    /// <summary>What a snapshot holds in memory until it is written.</summary>
    public static long SizeOf(CheckpointSnapshot snapshot) =>
        (long)snapshot.Weights.Length + snapshot.OptimizerState.Length + snapshot.TorchRngState.Length + (snapshot.BestWeights?.Length ?? 0);

    /// <summary>
    /// Waits until a snapshot of <paramref name="bytes"/> fits. A write that has failed throws here, so the run fails at its
    /// next checkpoint rather than going on unsaved.
    /// </summary>
    public async Task WaitForRoomAsync(long bytes)
    {
        while (_held.TryPeek(out var oldest))
        {
            if (!oldest.Written.IsCompleted && _held.Count < MaxSnapshots && HeldBytes() + bytes <= MaxBytes)
            {
                return;
            }

            await oldest.Written;
            _held.Dequeue();
        }
    }

    /// <summary>Starts <paramref name="write"/> in the background once the writes before it have ended; does not wait.</summary>
    public void Enqueue(long bytes, Func<Task> write)
    {
        var previous = _last;

        // After the previous write, also a failed one: its failure then reaches whoever waits next instead of being
        // skipped, and this write does not run after it.
        _last = Task.Run(async () =>
        {
            await previous;
            await write();
        });
        _held.Enqueue((_last, bytes));
    }

    private long HeldBytes() => _held.Sum(h => h.Bytes);
}
