using System.Globalization;
using Dashboard.Data;
using Dashboard.Runs.Contracts;

namespace Dashboard.Runs.Exports;

/// <summary>
/// A run's metrics and steps as CSV lines. The headers are the JSON field names, so a column means what the API's field
/// does; numbers are written in the invariant culture (a German server still writes 0.5, not 0,5) and round-trip, and
/// NaN and infinities keep their names rather than becoming empty cells, since a diverged run is worth seeing as such.
/// </summary>
public static class RunCsv
{
    /// <summary>Every column; a classification run's file stops before the regression columns, as its JSON lacks those fields.</summary>
    public const string MetricsHeader = ClassificationHeader + "," + RegressionColumns;

    public const string ClassificationHeader = "epoch,step,loss,valLoss,accuracy,valAccuracy,learningRate,durationMs,samplesPerSecond,createdAt";

    private const string RegressionColumns = "mae,valMae";

    /// <summary>The header for a run's rows: with the regression columns when the run logs MAE.</summary>
    public static string MetricsHeaderFor(IEnumerable<MetricDto> metrics) => metrics.Any(IsRegression) ? MetricsHeader : ClassificationHeader;

    private static bool IsRegression(MetricDto m) => m.Mae is not null || m.ValMae is not null;

    public const string StepsHeader = "step,epoch,loss";

    /// <summary>One epoch's row; an absent accuracy (a regression run) is an empty cell, as it is null in JSON.</summary>
    public static string MetricLine(MetricDto m) => IsRegression(m)
        ? string.Join(',', ClassificationLine(m), Number(m.Mae ?? double.NaN), Number(m.ValMae ?? double.NaN))
        : ClassificationLine(m);

    private static string ClassificationLine(MetricDto m) => string.Join(',',
        m.Epoch.ToString(CultureInfo.InvariantCulture),
        m.Step.ToString(CultureInfo.InvariantCulture),
        Number(m.Loss),
        Number(m.ValLoss),
        m.Accuracy is { } accuracy ? Number(accuracy) : "",
        m.ValAccuracy is { } valAccuracy ? Number(valAccuracy) : "",
        Number(m.LearningRate),
        Number(m.DurationMs),
        Number(m.SamplesPerSecond),
        m.CreatedAt?.ToString("O", CultureInfo.InvariantCulture) ?? "");

    public static string StepLine(StepRow row) => string.Create(CultureInfo.InvariantCulture, $"{row.Step},{row.Epoch},{Number(row.Loss)}");

    /// <summary>Shortest text that parses back to the same double; named NaN and infinities whatever the culture calls them.</summary>
    public static string Number(double value) => value switch
    {
        double.NaN => "NaN",
        double.PositiveInfinity => "Infinity",
        double.NegativeInfinity => "-Infinity",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };
}
