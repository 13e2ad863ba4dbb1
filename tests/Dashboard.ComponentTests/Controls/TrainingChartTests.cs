using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Web.Components.Controls;
using Dashboard.Web.Contracts;
using static Dashboard.ComponentTests.Support.TestData;

namespace Dashboard.ComponentTests.Controls;

public sealed class TrainingChartTests : DashboardTestContext
{
    private const string ChartId = "run-7-chart";

    private static readonly int[] MetricTraces =
        [TrainingChart.LossTrace, TrainingChart.ValLossTrace, TrainingChart.AccuracyTrace, TrainingChart.ValAccuracyTrace];

    [Fact]
    public void Render_WithInitialPoints_PlotsFiveNamedTracesHoldingExactlyThosePoints()
    {
        RenderChart(
            [Epoch(2, 0.50, 0.60, 0.80, 0.75), Epoch(1, 0.90, 1.00, 0.60, 0.55)],
            [Checkpoint(11, 1, valLoss: 0.98), Checkpoint(12, 2)]);

        var traces = Assert.Single(Plotly.Plots);
        Assert.Equal(["loss", "val_loss", "accuracy", "val_accuracy", "checkpoints"], traces.Select(t => t.Name));
        AssertTrace(traces[TrainingChart.LossTrace], [1, 2], [0.90, 0.50]);
        AssertTrace(traces[TrainingChart.ValLossTrace], [1, 2], [1.00, 0.60]);
        AssertTrace(traces[TrainingChart.AccuracyTrace], [1, 2], [0.60, 0.80]);
        AssertTrace(traces[TrainingChart.ValAccuracyTrace], [1, 2], [0.55, 0.75]);

        // A marker sits at the checkpoint's own val_loss, or on the val_loss curve when the checkpoint has none.
        AssertTrace(traces[TrainingChart.CheckpointTrace], [1, 2], [0.98, 0.60]);
    }

    [Fact]
    public void Render_WithoutPoints_PlotsFiveEmptyTraces()
    {
        RenderChart([], []);

        var traces = Assert.Single(Plotly.Plots);
        Assert.Equal(5, traces.Count);
        Assert.All(traces, t => Assert.Empty(t.X));
    }

    [Fact]
    public void Render_InitialCheckpointsNotDurableOrInterrupt_LeavesThemOffTheChart()
    {
        RenderChart(
            [Epoch(1, 0.9, 1.0), Epoch(2, 0.5, 0.6), Epoch(3, 0.4, 0.5)],
            [
                Checkpoint(1, 1, 1.0, status: CheckpointStatus.Writing),
                Checkpoint(2, 2, 0.6, kind: CheckpointKind.Interrupt),
                Checkpoint(3, 3, 0.5, status: CheckpointStatus.Corrupt),
            ]);

        Assert.Empty(Assert.Single(Plotly.Plots)[TrainingChart.CheckpointTrace].X);
    }

    [Fact]
    public void Render_CheckpointWithNoValLossAnywhere_PlotsItsMarkerAsAGap()
    {
        RenderChart([Epoch(1, 0.9, 1.0)], [Checkpoint(11, 2)]);

        AssertTrace(Assert.Single(Plotly.Plots)[TrainingChart.CheckpointTrace], [2], [null]);
    }

    [Fact]
    public async Task FlushAsync_AfterAddEpoch_ExtendsTheFourMetricTracesOnceWithTheNewEpoch()
    {
        var chart = RenderChart([Epoch(1, 0.9, 1.0, 0.6, 0.55)], []);

        await AddAndFlushAsync(chart, c => c.AddEpoch(Epoch(2, 0.5, 0.6, 0.8, 0.75)));

        var extension = Assert.Single(Plotly.Extensions);
        Assert.Equal(ChartId, extension.ChartId);
        Assert.Equal(MetricTraces, extension.Indices);
        Assert.All(extension.X, xs => Assert.Equal([2.0], xs));
        Assert.Equal([[0.5], [0.6], [0.8], [0.75]], extension.Y);
        Assert.Equal(2, chart.Instance.EpochCount);
    }

    [Fact]
    public async Task FlushAsync_NothingAdded_SendsNothing()
    {
        var chart = RenderChart([Epoch(1, 0.9, 1.0)], []);

        await AddAndFlushAsync(chart, _ => { });

        Assert.Empty(Plotly.Extensions);
    }

    [Fact]
    public async Task AddEpoch_EpochAlreadyPlotted_IsIgnored()
    {
        var chart = RenderChart([Epoch(1, 0.9, 1.0), Epoch(2, 0.5, 0.6)], []);

        // A replayed event for an epoch the initial load already had, and an older one arriving late.
        await AddAndFlushAsync(chart, c =>
        {
            c.AddEpoch(Epoch(2, 0.4, 0.4));
            c.AddEpoch(Epoch(1, 0.3, 0.3));
        });

        Assert.Empty(Plotly.Extensions);
    }

    [Fact]
    public async Task AddEpoch_SameEpochTwiceAcrossFlushes_ExtendsOnlyOnce()
    {
        var chart = RenderChart([], []);

        await AddAndFlushAsync(chart, c => c.AddEpoch(Epoch(1, 0.9, 1.0, 0.6, 0.55)));
        await AddAndFlushAsync(chart, c => c.AddEpoch(Epoch(1, 0.9, 1.0, 0.6, 0.55)));

        Assert.Single(Plotly.Extensions);
    }

    [Fact]
    public async Task AddEpoch_SeveralBeforeOneFlush_SendsOneBatchedExtensionInEpochOrder()
    {
        var chart = RenderChart([Epoch(1, 0.9, 1.0, 0.60, 0.55)], []);

        await AddAndFlushAsync(chart, c =>
        {
            c.AddEpoch(Epoch(2, 0.7, 0.8, 0.70, 0.65));
            c.AddEpoch(Epoch(3, 0.5, 0.6, 0.80, 0.75));
            c.AddEpoch(Epoch(4, 0.4, 0.5, 0.85, 0.80));
        });

        var extension = Assert.Single(Plotly.Extensions);
        Assert.Equal(MetricTraces, extension.Indices);
        Assert.All(extension.X, xs => Assert.Equal([2.0, 3.0, 4.0], xs));
        Assert.Equal([0.7, 0.5, 0.4], extension.Y[0]);
        Assert.Equal([0.8, 0.6, 0.5], extension.Y[1]);
        Assert.Equal([0.70, 0.80, 0.85], extension.Y[2]);
        Assert.Equal([0.65, 0.75, 0.80], extension.Y[3]);
    }

    [Fact]
    public async Task AddCheckpoint_DurablePeriodic_ExtendsTheCheckpointTraceAtItsValLoss()
    {
        var chart = RenderChart([Epoch(1, 0.9, 1.0), Epoch(2, 0.5, 0.6)], []);

        await AddAndFlushAsync(chart, c => c.AddCheckpoint(Checkpoint(21, 2, valLoss: 0.61)));

        var extension = Assert.Single(Plotly.Extensions);
        Assert.Equal([TrainingChart.CheckpointTrace], extension.Indices);
        Assert.Equal([[2.0]], extension.X);
        Assert.Equal([[0.61]], extension.Y);
    }

    [Fact]
    public async Task AddCheckpoint_WithoutValLoss_SitsOnTheValLossCurve()
    {
        var chart = RenderChart([Epoch(1, 0.9, 1.0)], []);

        await AddAndFlushAsync(chart, c =>
        {
            c.AddEpoch(Epoch(2, 0.5, 0.6));
            c.AddCheckpoint(Checkpoint(21, 2));
        });

        Assert.Equal([[0.6]], Plotly.Extensions.Single(e => e.Indices is [TrainingChart.CheckpointTrace]).Y);
    }

    [Theory]
    [InlineData(CheckpointKind.Periodic, CheckpointStatus.Writing)]
    [InlineData(CheckpointKind.Periodic, CheckpointStatus.Corrupt)]
    [InlineData(CheckpointKind.Periodic, CheckpointStatus.Missing)]
    [InlineData(CheckpointKind.Interrupt, CheckpointStatus.Durable)]
    public async Task AddCheckpoint_NotDurableOrInterrupt_IsNotPlotted(string kind, string status)
    {
        var chart = RenderChart([Epoch(1, 0.9, 1.0)], []);

        await AddAndFlushAsync(chart, c => c.AddCheckpoint(Checkpoint(21, 1, 1.0, kind, status)));

        Assert.Empty(Plotly.Extensions);
    }

    [Fact]
    public async Task AddCheckpoint_AlreadyPlotted_IsIgnored()
    {
        var chart = RenderChart([Epoch(1, 0.9, 1.0)], [Checkpoint(21, 1, 1.0)]);

        await AddAndFlushAsync(chart, c =>
        {
            c.AddCheckpoint(Checkpoint(21, 1, 1.0));
            c.AddCheckpoint(Checkpoint(22, 1, 1.0, kind: CheckpointKind.Best));
            c.AddCheckpoint(Checkpoint(22, 1, 1.0, kind: CheckpointKind.Best));
        });

        var extension = Assert.Single(Plotly.Extensions);
        Assert.Equal([[1.0]], extension.X);
    }

    [Fact]
    public async Task FlushAsync_EpochWithoutAccuracy_SendsGapsThatSurviveTheWire()
    {
        var chart = RenderChart([], []);

        // Without accuracy the points must still reach the browser; plotly.js draws a null as a gap in the line.
        await AddAndFlushAsync(chart, c => c.AddEpoch(Epoch(1, 0.9, 1.0)));

        var extension = Assert.Single(Plotly.Extensions);
        Assert.Equal([[0.9], [1.0], [null], [null]], extension.Y);
    }

    [Fact]
    public async Task AddEpoch_WithoutFlushAsync_ReachesTheBrowserOnTheFlushTimer()
    {
        var chart = RenderChart([], []);

        await chart.InvokeAsync(() => chart.Instance.AddEpoch(Epoch(1, 0.9, 1.0, 0.6, 0.55)));

        var extensions = await Plotly.WaitForExtensionsAsync(1, TrainingChart.FlushInterval * 10);
        Assert.Equal([[1.0], [1.0], [1.0], [1.0]], Assert.Single(extensions).X);
    }

    private IRenderedComponent<TrainingChart> RenderChart(IReadOnlyList<MetricDto> metrics, IReadOnlyList<CheckpointDto> checkpoints) =>
        Render<TrainingChart>(parameters => parameters
            .Add(c => c.ChartId, ChartId)
            .Add(c => c.InitialMetrics, metrics)
            .Add(c => c.InitialCheckpoints, checkpoints));

    /// <summary>
    /// Queues and flushes in one turn of the renderer's dispatcher, which the chart's own timer flushes through too, so
    /// no timer tick can split the batch under test.
    /// </summary>
    private static Task AddAndFlushAsync(IRenderedComponent<TrainingChart> chart, Action<TrainingChart> add) =>
        chart.InvokeAsync(() =>
        {
            add(chart.Instance);
            return chart.Instance.FlushAsync();
        });

    private static void AssertTrace(PlottedTrace trace, double[] x, double?[] y)
    {
        Assert.Equal(x, trace.X);
        Assert.Equal(y, trace.Y);
    }
}
