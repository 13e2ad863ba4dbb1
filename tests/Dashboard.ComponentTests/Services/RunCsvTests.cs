using System.Globalization;
using Dashboard.Data;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Exports;

namespace Dashboard.ComponentTests.Services;

/// <summary>The CSV lines of a run's downloads: culture-proof numbers, named NaN, empty cells for null.</summary>
public sealed class RunCsvTests
{
    [Fact]
    public void MetricLine_CommaDecimalCultureWithNaNAndNoAccuracy_WritesInvariantNumbersNamedNaNAndEmptyCells()
    {
        var metric = new MetricDto(2, 40, 0.125, double.NaN, null, null, 1e-3, 1234.5, double.PositiveInfinity,
            new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc));
        var previous = CultureInfo.CurrentCulture;
        // The machine runs in invariant-globalization mode, so a culture that writes numbers otherwise is made by hand.
        var german = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        german.NumberFormat.NumberDecimalSeparator = ",";
        german.NumberFormat.NaNSymbol = "n. def.";
        german.NumberFormat.PositiveInfinitySymbol = "∞";
        german.NumberFormat.NegativeInfinitySymbol = "-∞";
        CultureInfo.CurrentCulture = german;
        try
        {
            Assert.Equal("2,40,0.125,NaN,,,0.001,1234.5,Infinity,2026-01-02T03:04:05.0000000Z", RunCsv.MetricLine(metric));
            Assert.Equal("7,1,-Infinity", RunCsv.StepLine(new StepRow(7, 1, double.NegativeInfinity)));
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    [Fact]
    public void MetricsHeader_EveryFieldOfMetricDto_InItsOrderCamelCased()
    {
        var names = typeof(MetricDto).GetConstructors().Single().GetParameters().Select(p => char.ToLowerInvariant(p.Name![0]) + p.Name[1..]);

        Assert.Equal(RunCsv.MetricsHeader, string.Join(",", names));
    }

    [Fact]
    public void StepLine_AwkwardDouble_ParsesBackToTheSameValue()
    {
        var loss = 0.1 + 0.2;

        var cells = RunCsv.StepLine(new StepRow(3, 1, loss)).Split(',');

        Assert.Equal(loss, double.Parse(cells[2], CultureInfo.InvariantCulture));
    }
}
