namespace Dashboard.Bench;

/// <summary>Order statistics of repeated measurements.</summary>
internal static class Stats
{
    public static double Median(IEnumerable<double> values) => Percentile(values, 50);

    /// <summary>The p-th percentile (0–100), linearly interpolated between the closest ranks; NaN when there are no values.</summary>
    public static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var rank = p / 100 * (sorted.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = (int)Math.Ceiling(rank);
        return sorted[low] + ((sorted[high] - sorted[low]) * (rank - low));
    }

    public static double Min(IEnumerable<double> values) => values.DefaultIfEmpty(double.NaN).Min();

    public static double Max(IEnumerable<double> values) => values.DefaultIfEmpty(double.NaN).Max();

    /// <summary>Rounds for display and JSON: enough digits to read, none that are noise.</summary>
    public static double Round(double value, int digits = 3) => double.IsFinite(value) ? Math.Round(value, digits) : value;

    public static double[] Round(IEnumerable<double> values, int digits = 3) => [.. values.Select(v => Round(v, digits))];
}
