namespace Dashboard.Data;

/// <summary>
/// Equal spans of [<see cref="First"/>, <see cref="First"/> + <see cref="Span"/>] as <c>Downsampler</c> cuts them: step s
/// goes to bucket <c>min(Count - 1, (s - First) * Count / Span)</c>.
/// </summary>
internal readonly record struct BucketGrid(long First, long Span, int Count)
{
    public int Of(long step) => (int)Math.Min(Count - 1, (step - First) * Count / Span);

    /// <summary>The lowest step of <paramref name="bucket"/>: the least s with (s - First) * Count / Span &gt;= bucket.</summary>
    public long Start(long bucket) => First + ((bucket * Span) + Count - 1) / Count;
}

/// <summary>Per bucket: first step, count, sum, lowest and highest loss, added to in any order.</summary>
internal sealed class BucketSums
{
    private readonly long[] _first;
    private readonly int[] _count;
    private readonly double[] _sum;
    private readonly double[] _min;
    private readonly double[] _max;

    public BucketSums(int buckets)
    {
        _first = new long[buckets];
        _count = new int[buckets];
        _sum = new double[buckets];
        _min = new double[buckets];
        _max = new double[buckets];
        Array.Fill(_first, long.MaxValue);
        Array.Fill(_min, double.PositiveInfinity);
        Array.Fill(_max, double.NegativeInfinity);
    }

    public long Total { get; private set; }

    public void Add(int bucket, long firstStep, int count, double sum, double min, double max)
    {
        _first[bucket] = Math.Min(_first[bucket], firstStep);
        _count[bucket] += count;
        _sum[bucket] += sum;
        _min[bucket] = Math.Min(_min[bucket], min);
        _max[bucket] = Math.Max(_max[bucket], max);
        Total += count;
    }

    public List<StepPoint> ToPoints()
    {
        var points = new List<StepPoint>(_count.Length);
        for (var i = 0; i < _count.Length; i++)
        {
            if (_count[i] > 0)
            {
                points.Add(new StepPoint(_first[i], _sum[i] / _count[i], _min[i], _max[i], _count[i]));
            }
        }

        return points;
    }
}
