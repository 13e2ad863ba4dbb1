using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Dashboard.Web.Services;

/// <summary>Runs waiting for a training slot, and the stop switches of those holding one.</summary>
public sealed class RunQueue
{
    private readonly Channel<int> _queue = Channel.CreateUnbounded<int>(new() { SingleReader = true });
    private readonly ConcurrentDictionary<int, CancellationTokenSource> _active = new();

    public ChannelReader<int> Reader => _queue.Reader;

    public void Enqueue(int runId) => _queue.Writer.TryWrite(runId);

    /// <summary>Marks a run as holding a slot; the token fires when someone asks it to stop.</summary>
    public CancellationToken Activate(int runId)
    {
        var stop = new CancellationTokenSource();
        if (!_active.TryAdd(runId, stop))
        {
            stop.Dispose();
            throw new InvalidOperationException($"Run {runId} is already training.");
        }

        return stop.Token;
    }

    public void Deactivate(int runId)
    {
        if (_active.TryRemove(runId, out var stop))
        {
            stop.Dispose();
        }
    }

    public bool IsActive(int runId) => _active.ContainsKey(runId);

    /// <summary>Asks a training run to stop after its current batch; false when it holds no slot.</summary>
    public bool RequestStop(int runId)
    {
        if (!_active.TryGetValue(runId, out var stop))
        {
            return false;
        }

        try
        {
            stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            return false;
        }

        return true;
    }
}
