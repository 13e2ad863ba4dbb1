using System.Collections;
using Dashboard.Runs.Contracts;

namespace Dashboard.Web.Components;

/// <summary>
/// The one list of a run's checkpoints that its page shows: the page owns it and keeps it current from the broadcaster
/// and from its own actions, and the chart, the table and the checkpoint panel all read it, so none of them keeps a copy
/// that could fall out of step. Each change makes a new snapshot and a new <see cref="Version"/>, so a reader on another
/// thread sees a whole list, and a chart can tell cheaply whether its markers are still current.
/// </summary>
public sealed class RunCheckpoints : IReadOnlyList<CheckpointDto>
{
    private readonly Lock _lock = new();
    private CheckpointDto[] _all;
    private int _version;

    public RunCheckpoints(IEnumerable<CheckpointDto>? checkpoints = null)
    {
        _all = [.. checkpoints ?? []];
    }

    /// <summary>Grows by one with every change.</summary>
    public int Version => Volatile.Read(ref _version);

    public int Count => Volatile.Read(ref _all).Length;

    public CheckpointDto this[int index] => Volatile.Read(ref _all)[index];

    /// <summary>The checkpoint with this id as last known; null when there is none.</summary>
    public CheckpointDto? Find(int id) => Array.Find(Volatile.Read(ref _all), c => c.Id == id);

    /// <summary>Everything as read again from the database, e.g. after a re-audit.</summary>
    public void Reset(IEnumerable<CheckpointDto> checkpoints)
    {
        lock (_lock)
        {
            Volatile.Write(ref _all, [.. checkpoints]);
            Interlocked.Increment(ref _version);
        }
    }

    /// <summary>
    /// The run's checkpoints as read from the database while the page subscribed first: what events brought meanwhile is
    /// kept over what was read, since the read may have started before a checkpoint was stored or changed.
    /// </summary>
    public void Load(IEnumerable<CheckpointDto> checkpoints)
    {
        lock (_lock)
        {
            var heard = _all;
            List<CheckpointDto> next = [.. checkpoints];
            foreach (var checkpoint in heard)
            {
                var index = next.FindIndex(c => c.Id == checkpoint.Id);
                if (index >= 0)
                {
                    next[index] = checkpoint;
                }
                else
                {
                    next.Add(checkpoint);
                }
            }

            Volatile.Write(ref _all, [.. next]);
            Interlocked.Increment(ref _version);
        }
    }

    /// <summary>
    /// A checkpoint saved: a new one, in the order taken, or the end of one known as still being written (a read that
    /// caught its row between insert and files: the saved event is then the only news that it is usable). Any other
    /// known one is left as it is: a replayed "saved" event must not undo a later change, e.g. a removal.
    /// </summary>
    /// <returns>Whether the list changed.</returns>
    public bool Add(CheckpointDto checkpoint)
    {
        lock (_lock)
        {
            var index = Array.FindIndex(_all, c => c.Id == checkpoint.Id);
            if (index >= 0)
            {
                if (!_all[index].IsWriting || checkpoint.IsWriting)
                {
                    return false;
                }

                CheckpointDto[] next = [.. _all];
                next[index] = checkpoint;
                Volatile.Write(ref _all, next);
            }
            else
            {
                Volatile.Write(ref _all, [.. _all, checkpoint]);
            }

            Interlocked.Increment(ref _version);
            return true;
        }
    }

    /// <summary>A checkpoint's new state (pinned, removed, found missing); an unknown one is added.</summary>
    public void Update(CheckpointDto checkpoint)
    {
        lock (_lock)
        {
            var index = Array.FindIndex(_all, c => c.Id == checkpoint.Id);
            CheckpointDto[] next = [.. _all];
            if (index >= 0)
            {
                next[index] = checkpoint;
            }
            else
            {
                next = [.. next, checkpoint];
            }

            Volatile.Write(ref _all, next);
            Interlocked.Increment(ref _version);
        }
    }

    public IEnumerator<CheckpointDto> GetEnumerator() => ((IEnumerable<CheckpointDto>)Volatile.Read(ref _all)).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
