using Dashboard.Plugins;

namespace Dashboard.Engine.Datasets;

/// <summary>Mean and standard deviation of each standardised input slot, computed on the training split only.</summary>
public sealed record Standardization(IReadOnlyList<int> Slots, float[] Means, float[] Deviations)
{
    public static Standardization None { get; } = new([], [], []);

    /// <summary>The statistics of <see cref="RawDataset.StandardizedSlots"/> over the samples <paramref name="train"/>; NaN cells (missing) are skipped.</summary>
    public static Standardization FromTraining(RawDataset data, ReadOnlySpan<int> train)
    {
        if (data.StandardizedSlots is not { Count: > 0 } slots)
        {
            return None;
        }

        var size = data.SampleSize;
        var means = new float[slots.Count];
        var deviations = new float[slots.Count];
        for (var s = 0; s < slots.Count; s++)
        {
            // Two passes in double: exact enough and independent of thread count, so a resumed run gets the same figures.
            double sum = 0;
            long count = 0;
            foreach (var i in train)
            {
                var v = data.Features[(i * size) + slots[s]];
                if (!float.IsNaN(v))
                {
                    sum += v;
                    count++;
                }
            }

            var mean = count == 0 ? 0 : sum / count;
            double squares = 0;
            foreach (var i in train)
            {
                var v = data.Features[(i * size) + slots[s]];
                if (!float.IsNaN(v))
                {
                    squares += (v - mean) * (v - mean);
                }
            }

            var deviation = count == 0 ? 0 : Math.Sqrt(squares / count);
            means[s] = (float)mean;

            // A constant column carries no information; dividing by 1 keeps it at 0 rather than NaN.
            deviations[s] = deviation > 1e-12 ? (float)deviation : 1f;
        }

        return new Standardization(slots, means, deviations);
    }

    /// <summary>Standardises one sample in place; a NaN (missing) becomes 0, the training mean.</summary>
    public void Apply(Span<float> sample)
    {
        for (var s = 0; s < Slots.Count; s++)
        {
            var v = sample[Slots[s]];
            sample[Slots[s]] = float.IsNaN(v) ? 0f : (v - Means[s]) / Deviations[s];
        }
    }
}
