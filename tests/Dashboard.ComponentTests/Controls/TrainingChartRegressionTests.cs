using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Web.Components;
using Dashboard.Web.Components.Controls;
using Dashboard.Web.Components.Pages;
using static Dashboard.ComponentTests.Support.TestData;

namespace Dashboard.ComponentTests.Controls;

/// <summary>A regression run logs MAE instead of accuracy: its chart draws what it has.</summary>
public sealed class TrainingChartRegressionTests : DashboardTestContext
{
    private const string ChartId = "run-9-chart";

    [Fact]
    public void Render_RegressionHistory_DrawsMaeTracesOnAnMaeAxisAndNoAccuracy()
    {
        RenderChart([RegressionEpoch(1, 0.9, 1.0, 0.7, 0.8), RegressionEpoch(2, 0.5, 0.6, 0.4, 0.45)], regression: false);

        var traces = Assert.Single(Plotly.Plots);
        var names = traces.Select(t => t.Name).ToList();
        Assert.DoesNotContain(names, n => n.Contains("accuracy", StringComparison.Ordinal));
        Assert.Equal("mae", traces[TrainingChart.AccuracyTrace].Name);
        Assert.Equal("val_mae", traces[TrainingChart.ValAccuracyTrace].Name);
        Assert.Equal([1.0, 2.0], traces[TrainingChart.AccuracyTrace].X);
        Assert.Equal([0.7, 0.4], traces[TrainingChart.AccuracyTrace].Y);
        Assert.Equal([0.8, 0.45], traces[TrainingChart.ValAccuracyTrace].Y);
        Assert.Equal("MAE", Plotly.CurrentLayout()["yaxis2"]!["title"]!["text"]!.GetValue<string>());
    }

    [Fact]
    public void Render_RegressionRunWithoutEpochsYet_StartsWithEmptyMaeTraces()
    {
        RenderChart([], regression: true);

        var traces = Assert.Single(Plotly.Plots);
        Assert.Equal("mae", traces[TrainingChart.AccuracyTrace].Name);
        Assert.Equal("val_mae", traces[TrainingChart.ValAccuracyTrace].Name);
        Assert.Empty(traces[TrainingChart.AccuracyTrace].X);
    }

    [Fact]
    public async Task Subscription_RegressionEpochCompleted_ExtendsTheMaeTracesWithItsMae()
    {
        RenderChart([], regression: true);

        Broadcaster.Publish(new EpochCompletedEvent(9, RegressionEpoch(1, 0.9, 1.0, 0.7, 0.8)));

        var extension = Assert.Single(await Plotly.WaitForExtensionsAsync(1, TrainingChart.FlushInterval * 10));
        Assert.Equal([TrainingChart.LossTrace, TrainingChart.ValLossTrace, TrainingChart.AccuracyTrace, TrainingChart.ValAccuracyTrace], extension.Indices);
        Assert.Equal([[0.9], [1.0], [0.7], [0.8]], extension.Y);
    }

    [Fact]
    public void Render_ClassificationHistory_KeepsAccuracyOnAUnitAxis()
    {
        RenderChart([Epoch(1, 0.9, 1.0, 0.6, 0.55)], regression: false);

        var traces = Assert.Single(Plotly.Plots);
        Assert.Equal("accuracy", traces[TrainingChart.AccuracyTrace].Name);
        Assert.Equal([0.6], traces[TrainingChart.AccuracyTrace].Y);
        Assert.Equal("accuracy", Plotly.CurrentLayout()["yaxis2"]!["title"]!["text"]!.GetValue<string>());
    }

    [Fact]
    public void MetricFor_AccuracyAskedOfARegressionRun_GivesItsMae()
    {
        IReadOnlyList<MetricDto> regression = [RegressionEpoch(1, 0.9, 1.0, 0.7, 0.8)];
        IReadOnlyList<MetricDto> classification = [Epoch(1, 0.9, 1.0, 0.6, 0.55)];

        Assert.Equal("valMae", Compare.MetricFor(regression, "valAccuracy"));
        Assert.Equal("mae", Compare.MetricFor(regression, "accuracy"));
        Assert.Equal("valAccuracy", Compare.MetricFor(classification, "valAccuracy"));
        Assert.Equal("valAccuracy", Compare.MetricFor(classification, "valMae"));
        Assert.Equal("valLoss", Compare.MetricFor(regression, "valLoss"));
    }

    private static MetricDto RegressionEpoch(int epoch, double loss, double valLoss, double mae, double valMae) =>
        Epoch(epoch, loss, valLoss) with { Mae = mae, ValMae = valMae };

    private void RenderChart(IReadOnlyList<MetricDto> metrics, bool regression) =>
        Render<TrainingChart>(parameters => parameters
            .Add(c => c.ChartId, ChartId)
            .Add(c => c.RunId, 9)
            .Add(c => c.InitialMetrics, metrics)
            .Add(c => c.Checkpoints, new RunCheckpoints())
            .Add(c => c.Regression, regression));
}
