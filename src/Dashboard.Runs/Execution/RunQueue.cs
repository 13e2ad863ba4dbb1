using System.Collections.Concurrent;
using System.Threading.Channels;
using Dashboard.Engine.Training;
using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Options;
using Microsoft.Extensions.Options;

namespace Dashboard.Runs.Execution;

/// <summary>
/// Runs waiting for a training slot, the stop switches of those holding one, and the start checkpoints read for runs
/// about to take a free slot.
/// </summary>
public sealed class RunQueue(IOptions<TrainingOptions> options)
{
    private readonly Channel<int> _queue = Channel.CreateUnbounded<int>(new() { SingleReader = true });
    private readonly ConcurrentDictionary<int, ActiveRun> _active = new();
    private readonly Dictionary<int, VerifiedCheckpoint> _starts = [];
    private readonly Lock _startsLock = new();

    // Runs enqueued and not yet handed to the executor, counted here rather than from the channel: a run the job service
    // has taken off the channel while it waits for a slot is still waiting.
    private int _waiting;

    public ChannelReader<int> Reader => _queue.Reader;

    /// <summary>Queues a run; <paramref name="start"/> is the checkpoint it starts from, as just read and verified.</summary>
    /// <remarks>
    /// A checkpoint's bytes are as large as its model, so they are kept only for a run that can start at once: a slot is
    /// free and no run waits before it, and at most as many are kept as there are slots. A run that must wait goes without;
    /// the executor then reads and verifies the files itself when the run starts.
    /// </remarks>
    public void Enqueue(int runId, VerifiedCheckpoint? start = null)
    {
        lock (_startsLock)
        {
            var slots = options.Value.MaxConcurrentRuns;
            _starts.Remove(runId);
            if (start is not null && _starts.Count < slots && _active.Count + _waiting < slots)
            {
                _starts[runId] = start;
            }

            _waiting++;
            _queue.Writer.TryWrite(runId);
        }
    }

    /// <summary>
    /// The start checkpoint handed over with a run, given up by the queue as the run is dequeued; null when none was kept.
    /// Every dequeued run takes it, even one that no longer trains, so none is held longer than its run waits for a slot.
    /// </summary>
    public VerifiedCheckpoint? TakeStart(int runId)
    {
        lock (_startsLock)
        {
            _waiting = Math.Max(0, _waiting - 1);
            return _starts.Remove(runId, out var start) ? start : null;
        }
    }

    /// <summary>How many handed-over start checkpoints the queue holds now; never more than there are slots.</summary>
    public int HeldStarts
    {
        get
        {
            lock (_startsLock)
            {
                return _starts.Count;
            }
        }
    }

    /// <summary>
    /// Marks a run as holding a slot; its token fires when someone asks it to stop. Null when the run already holds one
    /// (the same run dequeued twice), which the caller leaves to the holder.
    /// </summary>
    public ActiveRun? TryActivate(int runId)
    {
        var active = new ActiveRun();
        if (_active.TryAdd(runId, active))
        {
            return active;
        }

        active.Dispose();
        return null;
    }

    /// <summary>Gives up the slot <paramref name="active"/> holds; the holder disposes it afterwards.</summary>
    public void Deactivate(int runId, ActiveRun active) => _active.TryRemove(KeyValuePair.Create(runId, active));

    /// <summary>Asks a training run for a manual checkpoint after its current batch; false when it holds no slot.</summary>
    public bool RequestCheckpoint(int runId)
    {
        if (!_active.TryGetValue(runId, out var active))
        {
            return false;
        }

        active.RequestCheckpoint();
        return true;
    }

    public bool IsActive(int runId) => _active.ContainsKey(runId);

    /// <summary>Asks a training run to stop after its current batch; false when it holds no slot.</summary>
    public bool RequestStop(int runId)
    {
        if (!_active.TryGetValue(runId, out var active))
        {
            return false;
        }

        try
        {
            active.Stop();
        }
        catch (ObjectDisposedException)
        {
            return false;
        }

        return true;
    }
}

/// <summary>The switches of one training run: stop, and "checkpoint now".</summary>
public sealed class ActiveRun : ITrainingControl, IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private int _checkpointRequests;

    public CancellationToken StopRequested => _stop.Token;

    public void Stop() => _stop.Cancel();

    public void RequestCheckpoint() => Interlocked.Exchange(ref _checkpointRequests, 1);

    public bool TakeCheckpointRequest() => Interlocked.Exchange(ref _checkpointRequests, 0) == 1;

    public void Dispose() => _stop.Dispose();
}
