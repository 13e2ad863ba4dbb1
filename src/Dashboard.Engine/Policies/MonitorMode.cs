namespace Dashboard.Engine.Policies;

/// <summary>Whether a monitored metric improves by going down or up ("auto" guesses from its name, as Keras does).</summary>
public static class MonitorMode
{
    public const string Min = "min";
    public const string Max = "max";
    public const string Auto = "auto";

    public static IReadOnlyList<string> All { get; } = [Min, Max, Auto];

    /// <summary>The metrics the engine logs every epoch; any of them can be monitored.</summary>
    public static IReadOnlyList<string> LoggedMetrics { get; } = ["loss", "valLoss", "accuracy", "valAccuracy", "mae", "valMae", "learningRate"];

    /// <summary>Metrics only classification runs log.</summary>
    public static IReadOnlyList<string> ClassificationOnly { get; } = ["accuracy", "valAccuracy"];

    /// <summary>Metrics only regression runs log.</summary>
    public static IReadOnlyList<string> RegressionOnly { get; } = ["mae", "valMae"];

    public static string Resolve(string mode, string monitor) => mode switch
    {
        Min or Max => mode,
        _ => monitor.Contains("acc", StringComparison.OrdinalIgnoreCase) ? Max : Min,
    };

    /// <summary>True when <paramref name="current"/> beats <paramref name="best"/> by more than <paramref name="minDelta"/>.</summary>
    public static bool IsImprovement(double current, double? best, string resolvedMode, double minDelta)
    {
        if (double.IsNaN(current))
        {
            return false;
        }

        if (best is not { } b)
        {
            return true;
        }

        return resolvedMode == Max ? current > b + minDelta : current < b - minDelta;
    }

    /// <summary>Orders values best first.</summary>
    public static int Compare(double a, double b, string resolvedMode) => resolvedMode == Max ? b.CompareTo(a) : a.CompareTo(b);
}
