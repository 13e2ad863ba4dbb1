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

    /// <summary>The runs training in this process now: announced as running and not yet ending.</summary>
    public IReadOnlyList<int> TrainingRunIds => [.. _active.Where(a => a.Value.IsTraining).Select(a => a.Key)];

    /// <summary>
    /// Runs <paramref name="publish"/> only while the run trains in this process, so what it publishes reaches every
    /// subscriber after the run's "running" and before its ending (<see cref="ActiveRun.WhileTraining"/>); false when not.
    /// </summary>
    public bool WhileTraining(int runId, Action publish) => _active.TryGetValue(runId, out var active) && active.WhileTraining(publish);

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
    private readonly Lock _phase = new();
    private int _checkpointRequests;
    private bool _training;

    /// <summary>Between <see cref="Started"/> and <see cref="Ending"/>.</summary>
    public bool IsTraining
    {
        get
        {
            lock (_phase)
            {
                return _training;
            }
        }
    }

    public CancellationToken StopRequested => _stop.Token;

    public void Stop() => _stop.Cancel();

    public void RequestCheckpoint() => Interlocked.Exchange(ref _checkpointRequests, 1);

    public bool TakeCheckpointRequest() => Interlocked.Exchange(ref _checkpointRequests, 0) == 1;

    /// <summary>The run was announced as running: events from outside its training (system samples) may follow now.</summary>
    public void Started()
    {
        lock (_phase)
        {
            _training = true;
        }
    }

    /// <summary>
    /// Called before the run's ending is stored and announced. Waits for a <see cref="WhileTraining"/> in progress, so an
    /// event published there is queued to every subscriber before the ending: a client may take the final status as
    /// the run's last event.
    /// </summary>
    public void Ending()
    {
        lock (_phase)
        {
            _training = false;
        }
    }

    /// <summary>Runs <paramref name="publish"/> if the run trains, holding off <see cref="Ending"/> meanwhile; false if not.</summary>
    /// <remarks>The broadcaster queues an event to every subscriber synchronously, so holding the lock for that is short.</remarks>
    public bool WhileTraining(Action publish)
    {
        lock (_phase)
        {
            if (!_training)
            {
                return false;
            }

            publish();
            return true;
        }
    }

    public void Dispose() => _stop.Dispose();
}
