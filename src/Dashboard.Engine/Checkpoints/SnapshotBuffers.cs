namespace Dashboard.Engine.Checkpoints;

/// <summary>
/// The arrays one run's checkpoint snapshots are copied into, handed back once a snapshot's files are written and reused
/// by a later snapshot. Copying a model's state is cheap; fresh memory for it is not: the kernel maps and zeroes every
/// page of a new array on first touch, and on the 2-core bench machine that took 0.4–1.3 s for 140 MB against about
/// 25 ms to copy the same bytes into pages already touched (bench figure 2b), all of it on the cores training uses.
/// An array never handed back is collected as any other, so an observer that keeps a snapshot, or never releases it,
/// loses nothing but the reuse.
/// </summary>
public sealed class SnapshotBuffers
{
    /// <summary>
    /// Free arrays kept per length. A snapshot is copied while the one before it may still be written (the observer may
    /// hold two), so two free sets cover steady state; more would only hold memory for the rest of the run.
    /// </summary>
    public const int KeptPerLength = 2;

    private readonly Lock _gate = new();
    private readonly List<byte[]> _free = [];

    /// <summary>An array of exactly <paramref name="length"/> bytes: a handed-back one if there is one, else a new one. Its contents are undefined.</summary>
    public byte[] Rent(int length)
    {
        lock (_gate)
        {
            var index = _free.FindIndex(a => a.Length == length);
            if (index >= 0)
            {
                var array = _free[index];
                _free.RemoveAt(index);
                return array;
            }
        }

        // Not zeroed: the copy overwrites every byte, and zeroing would touch every fresh page once more.
        return GC.AllocateUninitializedArray<byte>(length);
    }

    /// <summary>
    /// Adds a free array of each length with every page touched, so that even a run's first snapshot copies into memory
    /// already mapped: the page faults happen once, before training, instead of beside the batch the copy overlaps.
    /// </summary>
    public void Warm(params int[] lengths)
    {
        foreach (var length in lengths)
        {
            var array = GC.AllocateUninitializedArray<byte>(length);
            for (var page = 0; page < array.Length; page += 4096)
            {
                array[page] = 0;
            }

            Return(array);
        }
    }

    /// <summary>Ownership of <paramref name="arrays"/>, handed back to this pool once by <see cref="BufferLease.Release"/>.</summary>
    public BufferLease Lease(params byte[][] arrays) => new(this, arrays);

    internal void Return(byte[] array)
    {
        lock (_gate)
        {
            if (_free.Count(a => a.Length == array.Length) < KeptPerLength)
            {
                _free.Add(array);
            }
        }
    }
}

/// <summary>
/// The arrays of one snapshot, handed back at most once: a copy of the snapshot made with <c>with</c> shares this lease,
/// so releasing both never lets two later snapshots copy into the same array.
/// </summary>
public sealed class BufferLease
{
    private readonly SnapshotBuffers _pool;
    private readonly byte[][] _arrays;
    private int _released;

    internal BufferLease(SnapshotBuffers pool, byte[][] arrays)
    {
        _pool = pool;
        _arrays = arrays;
    }

    public bool Released => Volatile.Read(ref _released) == 1;

    /// <summary>Hands the arrays back; after this nobody may read them, since the next snapshot overwrites them.</summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            foreach (var array in _arrays)
            {
                _pool.Return(array);
            }
        }
    }
}
