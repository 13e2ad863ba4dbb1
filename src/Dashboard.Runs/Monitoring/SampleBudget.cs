namespace Dashboard.Runs.Monitoring;

/// <summary>
/// Keeps one run's stored system samples under a fixed count however long it trains. Every reading is taken while the
/// run is short; once the stored ones exceed <see cref="Capacity"/>, every second one is dropped and from then on only
/// every second reading is taken, so what is kept stays evenly spaced and covers the whole run (a week at 5 s a reading
/// ends up at about 10 minutes a sample, not 120,000 rows).
/// </summary>
public sealed class SampleBudget
{
    private long _readings;

    public SampleBudget(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        Capacity = capacity;
    }

    public int Capacity { get; }

    /// <summary>Readings per stored sample: 1, then 2, 4, … as the run grows long.</summary>
    public long Stride { get; private set; } = 1;

    /// <summary>Whether this reading is stored: one of every <see cref="Stride"/>.</summary>
    public bool Take() => _readings++ % Stride == 0;

    /// <summary>
    /// Given how many samples of the run are stored, the positions (oldest first, from 0) to drop: none while within
    /// <see cref="Capacity"/>, else every odd one, and the stride doubles so later samples keep the thinned spacing.
    /// </summary>
    public IReadOnlyList<int> Thin(int stored)
    {
        if (stored <= Capacity)
        {
            return [];
        }

        Stride *= 2;
        return [.. Enumerable.Range(0, stored).Where(i => i % 2 == 1)];
    }
}
