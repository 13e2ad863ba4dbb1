namespace Dashboard.Web.Components.Controls;

/// <summary>Curve smoothing as TensorBoard does it: a way of drawing a curve, so it lives with the charts.</summary>
public static class Smoothing
{
    /// <summary>
    /// Exponential moving average with weight <paramref name="weight"/> in [0, 1), debiased so the first points are not
    /// pulled towards zero. NaN points stay NaN and do not disturb the average.
    /// </summary>
    public static double[] Ema(IReadOnlyList<double> values, double weight)
    {
        if (weight is < 0 or >= 1 || double.IsNaN(weight))
        {
            throw new ArgumentOutOfRangeException(nameof(weight), weight, "The smoothing weight must be at least 0 and below 1.");
        }

        var result = new double[values.Count];
        double last = 0;
        var count = 0;
        for (var i = 0; i < values.Count; i++)
        {
            var value = values[i];
            if (!double.IsFinite(value))
            {
                result[i] = value;
                continue;
            }

            last = (last * weight) + ((1 - weight) * value);
            count++;
            result[i] = weight == 0 ? value : last / (1 - Math.Pow(weight, count));
        }

        return result;
    }
}
