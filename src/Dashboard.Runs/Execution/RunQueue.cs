using System.Collections.Concurrent;
using System.Threading.Channels;
using Dashboard.Engine.Training;

namespace Dashboard.Runs.Execution;

/// <summary>Runs waiting for a training slot, and the stop switches of those holding one.</summary>
public sealed class RunQueue
{
    private readonly Channel<int> _queue = Channel.CreateUnbounded<int>(new() { SingleReader = true });
    private readonly ConcurrentDictionary<int, ActiveRun> _active = new();

    public ChannelReader<int> Reader => _queue.Reader;

    public void Enqueue(int runId) => _queue.Writer.TryWrite(runId);

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
