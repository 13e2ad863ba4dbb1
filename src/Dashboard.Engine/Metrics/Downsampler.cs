namespace Dashboard.Engine.Metrics;

/// <summary>
/// Thins a long curve for a chart of a given width in pixels. The x range is cut into one bucket per pixel column; of each
/// bucket the points with the lowest and the highest y are kept, in x order, and so are the curve's first and last points.
/// A line chart of that width looks the same (every spike and dip survives, unlike averaging or taking every n-th point),
/// and at most <see cref="MaxPoints"/> points are sent. A pure function: the same input always gives the same output.
/// </summary>
public static class Downsampler
{
    /// <summary>The most points <see cref="MinMaxIndices"/> keeps for a chart <paramref name="width"/> pixels wide.</summary>
    public static int MaxPoints(int width) => (2 * width) + 2;

    /// <summary>
    /// The indices of the points to draw, ascending. A curve that already fits the budget is returned whole.
    /// </summary>
    /// <param name="x">The x values (e.g. steps), finite and in non-decreasing order.</param>
    /// <param name="y">The y values; NaN marks a point that cannot be drawn and is never chosen as an extreme.</param>
    /// <param name="width">The chart's width in pixels: the number of buckets.</param>
    public static int[] MinMaxIndices(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (x.Length != y.Length)
        {
            throw new ArgumentException($"x has {x.Length} values and y {y.Length}; they must pair up.", nameof(y));
        }

        var count = x.Length;
        for (var i = 0; i < count; i++)
        {
            if (!double.IsFinite(x[i]) || (i > 0 && x[i] < x[i - 1]))
            {
                throw new ArgumentException($"x must be finite and in non-decreasing order; x[{i}] = {x[i]} breaks that.", nameof(x));
            }
        }

        if (count <= MaxPoints(width))
        {
            var all = new int[count];
            for (var i = 0; i < count; i++)
            {
                all[i] = i;
            }

            return all;
        }

        var kept = new List<int>(MaxPoints(width)) { 0 };
        var first = x[0];
        var span = x[count - 1] - first;
        var bucket = 0;
        int min = -1, max = -1;
        for (var i = 0; i < count; i++)
        {
            var b = span > 0 ? Bucket(x[i] - first, span, width) : 0;
            if (b != bucket)
            {
                Flush(kept, min, max);
                bucket = b;
                min = max = -1;
            }

            var value = y[i];
            if (double.IsNaN(value))
            {
                continue;
            }

            if (min < 0 || value < y[min])
            {
                min = i;
            }

            if (max < 0 || value > y[max])
            {
                max = i;
            }
        }

        Flush(kept, min, max);
        Add(kept, count - 1);
        return [.. kept];
    }

    /// <summary>The points to draw, as values: see <see cref="MinMaxIndices"/>.</summary>
    public static (double[] X, double[] Y) MinMax(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int width)
    {
        var indices = MinMaxIndices(x, y, width);
        var keptX = new double[indices.Length];
        var keptY = new double[indices.Length];
        for (var i = 0; i < indices.Length; i++)
        {
            keptX[i] = x[indices[i]];
            keptY[i] = y[indices[i]];
        }

        return (keptX, keptY);
    }

    /// <summary>
    /// The bucket of a point <paramref name="offset"/> past the first of a curve <paramref name="span"/> long. Multiplying
    /// before dividing makes it exact for whole-number x (steps): it equals the integer formula
    /// <c>min(width - 1, offset * width / span)</c> that the database groups by, so both thin a curve the same way.
    /// </summary>
    public static int Bucket(double offset, double span, int width) => (int)Math.Min(width - 1, Math.Floor(offset * width / span));

    private static void Flush(List<int> kept, int min, int max)
    {
        if (min < 0)
        {
            return;
        }

        Add(kept, Math.Min(min, max));
        Add(kept, Math.Max(min, max));
    }

    // Indices arrive in ascending order, so a repeat can only be the last one added.
    private static void Add(List<int> kept, int index)
    {
        if (kept[^1] != index)
        {
            kept.Add(index);
        }
    }
}
