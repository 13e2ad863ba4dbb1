using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Data.Entities;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Web.Components;
using Dashboard.Web.Components.Controls;
using static Dashboard.ComponentTests.Support.TestData;
using Dashboard.Engine.Policies;

namespace Dashboard.ComponentTests.Controls;

public sealed class TrainingChartTests : DashboardTestContext
{
    private const string ChartId = "run-7-chart";

    // The page's one list of the run's checkpoints, which the chart reads; tests change it as the page would.
    private readonly RunCheckpoints _checkpoints = new();

    private static readonly int[] MetricTraces =
        [TrainingChart.LossTrace, TrainingChart.ValLossTrace, TrainingChart.AccuracyTrace, TrainingChart.ValAccuracyTrace];

    private static readonly string[] TraceNames =
    [
        "loss", "val_loss", "accuracy", "val_accuracy",
        "checkpoint: periodic", "checkpoint: best", "checkpoint: last", "checkpoint: manual", "checkpoint: interrupt",
        "best by val_loss",
    ];

    [Fact]
    public void Render_WithInitialPoints_PlotsNamedTracesHoldingExactlyThosePoints()
    {
        RenderChart(
            [Epoch(2, 0.50, 0.60, 0.80, 0.75), Epoch(1, 0.90, 1.00, 0.60, 0.55)],
            [Checkpoint(11, 1, valLoss: 0.98), Checkpoint(12, 2, valLoss: 0.61, kind: CheckpointKind.Best)]);

        var traces = Assert.Single(Plotly.Plots);
        Assert.Equal(TraceNames, traces.Select(t => t.Name));
        AssertTrace(traces[TrainingChart.LossTrace], [1, 2], [0.90, 0.50]);
        AssertTrace(traces[TrainingChart.ValLossTrace], [1, 2], [1.00, 0.60]);
        AssertTrace(traces[TrainingChart.AccuracyTrace], [1, 2], [0.60, 0.80]);
        AssertTrace(traces[TrainingChart.ValAccuracyTrace], [1, 2], [0.55, 0.75]);

        // A marker sits at the checkpoint's own val_loss, in the trace of its kind.
        AssertTrace(traces[TrainingChart.CheckpointTrace(CheckpointKind.Periodic)], [1], [0.98]);
        AssertTrace(traces[TrainingChart.CheckpointTrace(CheckpointKind.Best)], [2], [0.61]);
        Assert.Empty(traces[TrainingChart.BestTrace].X);
    }

    [Fact]
    public void Render_WithoutPoints_PlotsEmptyTraces()
    {
        RenderChart([], []);

        var traces = Assert.Single(Plotly.Plots);
        Assert.Equal(TraceNames, traces.Select(t => t.Name));
        Assert.All(traces, t => Assert.Empty(t.X));
        Assert.Empty(Plotly.CurrentLayout()["annotations"]!.AsArray());
    }

    [Fact]
    public void Render_CheckpointStillBeingWritten_LeavesItOffTheChart()
    {
        RenderChart([Epoch(1, 0.9, 1.0)], [Checkpoint(1, 1, 1.0, status: CheckpointStatus.Writing)]);

        Assert.All(Plotly.Current().Skip(TrainingChart.FirstCheckpointTrace), t => Assert.Empty(t.X));
    }

    [Fact]
    public void Render_OneCheckpointOfEachKind_GivesEachKindItsOwnTraceSymbolAndColour()
    {
        RenderChart(
            [Epoch(1, 0.9, 1.0), Epoch(2, 0.5, 0.6), Epoch(3, 0.4, 0.5)],
            [
                Checkpoint(1, 1, 1.0, CheckpointKind.Best),
                Checkpoint(2, 2, 0.6, CheckpointKind.Periodic),
                Checkpoint(3, 2, 0.6, CheckpointKind.Manual, step: 21),
                Checkpoint(4, 2, step: 25, kind: CheckpointKind.Interrupt),
                Checkpoint(5, 3, 0.5, CheckpointKind.Last),
            ]);

        var traces = Plotly.Current();
        var markers = TrainingChart.MarkerKinds.Select(kind => traces[TrainingChart.CheckpointTrace(kind)]).ToList();
        Assert.Equal(TrainingChart.MarkerKinds.Select(TrainingChart.CheckpointTraceName), markers.Select(t => t.Name));
        Assert.All(markers, t => Assert.Single(t.X));
        Assert.Equal(["circle", "triangle-up", "square", "diamond", "x"], markers.Select(t => t.Strings("marker.symbol")[0]));
        Assert.Equal(5, markers.Select(t => t.Json["marker"]!["color"]!.GetValue<string>()).Distinct().Count());
    }

    [Fact]
    public void Render_PinnedCheckpoint_IsRingedAndLarger()
    {
        RenderChart([Epoch(1, 0.9, 1.0), Epoch(2, 0.5, 0.6)], [Checkpoint(1, 1, 1.0), Checkpoint(2, 2, 0.6, pinned: true)]);

        var periodic = Plotly.Current()[TrainingChart.CheckpointTrace(CheckpointKind.Periodic)];
        Assert.Equal([1.0, 2.0], periodic.X);
        Assert.Equal(["#ffffff", CheckpointMarkers.PinColor], periodic.Strings("marker.line.color"));
        Assert.True(periodic.Numbers("marker.size")[1] > periodic.Numbers("marker.size")[0]);
        Assert.True(periodic.Numbers("marker.line.width")[1] > periodic.Numbers("marker.line.width")[0]);
        Assert.EndsWith("durable · pinned", periodic.Strings("text")[1]);
    }

    [Theory]
    [InlineData(CheckpointStatus.Deleted)]
    [InlineData(CheckpointStatus.Corrupt)]
    [InlineData(CheckpointStatus.Missing)]
    public void Render_CheckpointThatCannotBeUsed_IsFadedAndHollow(string status)
    {
        RenderChart([Epoch(1, 0.9, 1.0), Epoch(2, 0.5, 0.6)], [Checkpoint(1, 1, 1.0, CheckpointKind.Best), Checkpoint(2, 2, 0.6, CheckpointKind.Best, status)]);

        var best = Plotly.Current()[TrainingChart.CheckpointTrace(CheckpointKind.Best)];
        Assert.Equal(["triangle-up", "triangle-up-open"], best.Strings("marker.symbol"));
        Assert.Equal([1.0, (double)CheckpointMarkers.FadedOpacity], best.Numbers("marker.opacity"));
        Assert.EndsWith($"{status}: cannot be resumed", best.Strings("text")[1]);
    }

    [Fact]
    public void Render_CheckpointHover_SaysKindEpochValLossStatusAndPin()
    {
        RenderChart([Epoch(3, 0.4, 0.5)], [Checkpoint(31, 3, 0.4567, CheckpointKind.Last, pinned: true)]);

        var text = Plotly.Current()[TrainingChart.CheckpointTrace(CheckpointKind.Last)].Strings("text").Single();
        Assert.Equal("last checkpoint #31<br>epoch 3, step 30<br>val_loss 0.4567<br>durable · pinned", text);
    }

    [Fact]
    public void Render_InterruptInsideAnEpoch_SitsBetweenEpochsByItsStepOnTheValLossCurve()
    {
        // Ten steps an epoch; stopped four steps into epoch 2, whose val_loss is known from a later resume.
        RenderChart([Epoch(1, 0.9, 1.0), Epoch(2, 0.5, 0.6)], [Checkpoint(9, 1, kind: CheckpointKind.Interrupt, step: 14)]);

        var interrupt = Plotly.Current()[TrainingChart.CheckpointTrace(CheckpointKind.Interrupt)];
        Assert.Equal(1.4, Assert.Single(interrupt.X), 6);
        Assert.Equal(0.84, Assert.Single(interrupt.Y)!.Value, 6);
        Assert.StartsWith("interrupt checkpoint #9<br>during epoch 2, step 14", interrupt.Strings("text")[0]);
    }

    [Fact]
    public void Render_CheckpointWithNoValLossAnywhere_PlotsItsMarkerAsAGap()
    {
        RenderChart([], [Checkpoint(11, 0, kind: CheckpointKind.Manual, step: 3)]);

        Assert.Equal([null], Plotly.Current()[TrainingChart.CheckpointTrace(CheckpointKind.Manual)].Y);
    }

    [Fact]
    public void Render_WithBestCheckpoint_RingsItAndLabelsItBest()
    {
        RenderChart([Epoch(1, 0.9, 1.0), Epoch(2, 0.5, 0.6)], [Checkpoint(1, 1, 1.0), Checkpoint(2, 2, 0.6, CheckpointKind.Best)], bestId: 2);

        var best = Plotly.Current()[TrainingChart.BestTrace];
        Assert.Equal("best by val_loss", best.Name);
        AssertState(best, [2], [0.6]);
        var label = Assert.Single(Plotly.CurrentLayout()["annotations"]!.AsArray())!;
        Assert.Equal(("best", 2.0, 0.6), (label["text"]!.GetValue<string>(), label["x"]!.GetValue<double>(), label["y"]!.GetValue<double>()));
    }

    [Fact]
    public void Render_MonitorOtherThanValLoss_NamesItInTheLegend()
    {
        Render<TrainingChart>(parameters => parameters.Add(c => c.ChartId, ChartId).Add(c => c.Monitor, "valAccuracy"));

        Assert.Equal("best by val_accuracy", Plotly.Current()[TrainingChart.BestTrace].Name);
    }

    [Fact]
    public async Task BestCheckpointId_NewBestArrivesLive_MovesRingAndLabelInOneUpdateOfTheMarkerTraces()
    {
        var chart = RenderChart([Epoch(1, 0.9, 1.0)], [Checkpoint(1, 1, 1.0, CheckpointKind.Best)], bestId: 1);

        await AddAndFlushAsync(chart, c =>
        {
            c.AddEpoch(Epoch(2, 0.5, 0.6));
            _checkpoints.Add(Checkpoint(2, 2, 0.6, CheckpointKind.Best));
        });
        chart.Render(parameters => parameters.Add(c => c.BestCheckpointId, 2));
        await chart.InvokeAsync(chart.Instance.FlushAsync);

        // Curve points still go by extendTraces; markers change by update; the plot is never drawn again.
        Assert.Single(Plotly.Plots);
        Assert.Equal(MetricTraces, Assert.Single(Plotly.Extensions).Indices);
        Assert.All(Plotly.Updates, u => Assert.All(u.Indices, i => Assert.InRange(i, TrainingChart.FirstCheckpointTrace, TrainingChart.BestTrace)));
        AssertState(Plotly.Current()[TrainingChart.BestTrace], [2], [0.6]);
        Assert.Equal(2.0, Assert.Single(Plotly.CurrentLayout()["annotations"]!.AsArray())!["x"]!.GetValue<double>());
        AssertState(Plotly.Current()[TrainingChart.CheckpointTrace(CheckpointKind.Best)], [1, 2], [1.0, 0.6]);
    }

    [Fact]
    public async Task BestCheckpointId_Unchanged_SendsNothing()
    {
        var chart = RenderChart([Epoch(1, 0.9, 1.0)], [Checkpoint(1, 1, 1.0)], bestId: 1);

        chart.Render(parameters => parameters.Add(c => c.BestCheckpointId, 1));
        await chart.InvokeAsync(chart.Instance.FlushAsync);

        Assert.Empty(Plotly.Updates);
    }

    [Fact]
    public async Task CheckpointUpdated_RemovedByRetention_FadesOnlyItsKindsTrace()
    {
        var chart = RenderChart([Epoch(1, 0.9, 1.0), Epoch(2, 0.5, 0.6)], [Checkpoint(1, 1, 1.0), Checkpoint(2, 2, 0.6)]);

        await AddAndFlushAsync(chart, _ => _checkpoints.Update(Checkpoint(1, 1, 1.0, status: CheckpointStatus.Deleted)));

        var update = Assert.Single(Plotly.Updates);
        Assert.Equal([TrainingChart.CheckpointTrace(CheckpointKind.Periodic)], update.Indices);
        // The usable one now leads its trace, so the legend keeps showing the kind's plain symbol.
        var periodic = Plotly.Current()[TrainingChart.CheckpointTrace(CheckpointKind.Periodic)];
        AssertState(periodic, [2, 1], [0.6, 1.0]);
        Assert.Equal(["circle", "circle-open"], periodic.Strings("marker.symbol"));
        Assert.Equal([1.0, (double)CheckpointMarkers.FadedOpacity], periodic.Numbers("marker.opacity"));
        Assert.Single(Plotly.Plots);
        Assert.Empty(Plotly.Extensions);
    }

    [Fact]
    public async Task CheckpointUpdated_BestCheckpointRemoved_DropsTheRingAndLabel()
    {
        var chart = RenderChart([Epoch(1, 0.9, 1.0)], [Checkpoint(1, 1, 1.0)], bestId: 1);

        await AddAndFlushAsync(chart, _ => _checkpoints.Update(Checkpoint(1, 1, 1.0, status: CheckpointStatus.Corrupt)));

        Assert.Empty(Plotly.Current()[TrainingChart.BestTrace].X);
        Assert.Empty(Plotly.CurrentLayout()["annotations"]!.AsArray());
    }

    [Fact]
    public async Task CheckpointUpdated_PinnedThenUnpinned_RestylesTheMarkerBothWays()
    {
        var chart = RenderChart([Epoch(1, 0.9, 1.0)], [Checkpoint(1, 1, 1.0)]);
        TraceState Periodic() => Plotly.Current()[TrainingChart.CheckpointTrace(CheckpointKind.Periodic)];

        await AddAndFlushAsync(chart, _ => _checkpoints.Update(Checkpoint(1, 1, 1.0, pinned: true)));
        Assert.Equal([CheckpointMarkers.PinColor], Periodic().Strings("marker.line.color"));

        await AddAndFlushAsync(chart, _ => _checkpoints.Update(Checkpoint(1, 1, 1.0, pinned: false)));
        Assert.Equal(["#ffffff"], Periodic().Strings("marker.line.color"));
        Assert.Equal(2, Plotly.Updates.Count);
    }

    [Fact]
    public async Task CheckpointUpdated_NothingChanged_SendsNothing()
    {
        var chart = RenderChart([Epoch(1, 0.9, 1.0)], [Checkpoint(1, 1, 1.0)]);

        await AddAndFlushAsync(chart, _ => _checkpoints.Update(Checkpoint(1, 1, 1.0)));

        Assert.Empty(Plotly.Updates);
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
        Assert.Empty(Plotly.Updates);
    }

    [Fact]
    public async Task FlushAsync_NothingAdded_SendsNothing()
    {
        var chart = RenderChart([Epoch(1, 0.9, 1.0)], []);

        await AddAndFlushAsync(chart, _ => { });

        Assert.Empty(Plotly.Extensions);
        Assert.Empty(Plotly.Updates);
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
    public async Task AddEpoch_AfterACheckpointInsideThatEpoch_MovesItsMarkerOntoTheNewSegment()
    {
        // Five steps into epoch 3 (ten steps an epoch): until epoch 3 ends the marker rests at epoch 2's val_loss.
        var chart = RenderChart([Epoch(1, 0.9, 1.0), Epoch(2, 0.5, 0.6)], [Checkpoint(9, 2, kind: CheckpointKind.Manual, step: 25)]);
        AssertState(Plotly.Current()[TrainingChart.CheckpointTrace(CheckpointKind.Manual)], [2.5], [0.6]);

        await AddAndFlushAsync(chart, c => c.AddEpoch(Epoch(3, 0.3, 0.4)));

        var manual = Plotly.Current()[TrainingChart.CheckpointTrace(CheckpointKind.Manual)];
        Assert.Equal(2.5, Assert.Single(manual.X), 6);
        Assert.Equal(0.5, Assert.Single(manual.Y)!.Value, 6);
    }

    [Fact]
    public async Task CheckpointAdded_Durable_AddsItsMarkerToItsKindsTraceByOneUpdate()
    {
        var chart = RenderChart([Epoch(1, 0.9, 1.0), Epoch(2, 0.5, 0.6)], [Checkpoint(1, 1, 1.0, CheckpointKind.Best)]);

        await AddAndFlushAsync(chart, _ => _checkpoints.Add(Checkpoint(21, 2, valLoss: 0.61, kind: CheckpointKind.Best)));

        var update = Assert.Single(Plotly.Updates);
        Assert.Equal(ChartId, update.ChartId);
        Assert.Equal([TrainingChart.CheckpointTrace(CheckpointKind.Best)], update.Indices);
        AssertState(Plotly.Current()[TrainingChart.CheckpointTrace(CheckpointKind.Best)], [1, 2], [1.0, 0.61]);
        Assert.Empty(Plotly.Extensions);
    }

    [Fact]
    public async Task CheckpointAdded_AlreadyPlotted_IsIgnored()
    {
        var chart = RenderChart([Epoch(1, 0.9, 1.0)], [Checkpoint(21, 1, 1.0)]);

        await AddAndFlushAsync(chart, c =>
        {
            _checkpoints.Add(Checkpoint(21, 1, 1.0));
            _checkpoints.Add(Checkpoint(22, 1, 1.0, kind: CheckpointKind.Best));
            _checkpoints.Add(Checkpoint(22, 1, 1.0, kind: CheckpointKind.Best));
        });

        Assert.Equal([TrainingChart.CheckpointTrace(CheckpointKind.Best)], Assert.Single(Plotly.Updates).Indices);
        Assert.Single(Plotly.Current()[TrainingChart.CheckpointTrace(CheckpointKind.Best)].X);
        Assert.Single(Plotly.Current()[TrainingChart.CheckpointTrace(CheckpointKind.Periodic)].X);
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

    [Fact]
    public async Task Subscription_EpochPublishedForItsRun_ReachesTheBrowserWithNoPageInvolved()
    {
        Render<TrainingChart>(parameters => parameters.Add(c => c.ChartId, ChartId).Add(c => c.RunId, 7));

        // Another run's epoch first: were it taken, run 7's epoch 1 would be ignored as already plotted.
        Broadcaster.Publish(new EpochCompletedEvent(8, Epoch(1, 0.3, 0.3, 0.3, 0.3)));
        Broadcaster.Publish(new EpochCompletedEvent(7, Epoch(1, 0.9, 1.0, 0.6, 0.55)));

        var extension = Assert.Single(await Plotly.WaitForExtensionsAsync(1, TrainingChart.FlushInterval * 10));
        Assert.Equal(MetricTraces, extension.Indices);
        Assert.Equal([[0.9], [1.0], [0.6], [0.55]], extension.Y);
    }

    [Fact]
    public async Task InitialMetrics_PageListGainsAnEpochTheSubscriptionMissed_ExtendsByItOnce()
    {
        // The page's list, which heard of epoch 2 before the chart had subscribed.
        var metrics = new List<MetricDto> { Epoch(1, 0.9, 1.0) };
        var chart = RenderChart(metrics, []);
        metrics.Add(Epoch(2, 0.5, 0.6));

        chart.Render(parameters => parameters.Add(c => c.InitialMetrics, metrics));
        chart.Render(parameters => parameters.Add(c => c.InitialMetrics, metrics));
        await chart.InvokeAsync(chart.Instance.FlushAsync);

        var extension = Assert.Single(Plotly.Extensions);
        Assert.All(extension.X, xs => Assert.Equal([2.0], xs));
        Assert.Equal(2, chart.Instance.EpochCount);
    }

    [Fact]
    public async Task Subscription_EpochOfALiveBranch_ExtendsOnlyThatBranchsOverlay()
    {
        var overlays = new[]
        {
            new OverlayCurve("parent-3-loss", "run #3 loss", "#2563eb", Faded: true, [(1, 0.9)]),
            new OverlayCurve("branch-9", "branch #9 val_loss", "#0891b2", Faded: false, [(1, 0.8)], LiveRunId: 9),
        };
        var traces = Render<TrainingChart>(parameters => parameters.Add(c => c.ChartId, ChartId).Add(c => c.RunId, 7).Add(c => c.Overlays, overlays));
        var branchTrace = TrainingChart.BestTrace + 2;

        Broadcaster.Publish(new EpochCompletedEvent(9, Epoch(2, 0.5, 0.45)));

        var extension = Assert.Single(await Plotly.WaitForExtensionsAsync(1, TrainingChart.FlushInterval * 10));
        Assert.Equal("branch #9 val_loss", Plotly.Current()[branchTrace].Name);
        Assert.Equal([branchTrace], extension.Indices);
        Assert.Equal([[2.0]], extension.X);
        Assert.Equal([[0.45]], extension.Y);
        Assert.Equal(0, traces.Instance.EpochCount);
    }

    [Fact]
    public async Task Click_MarkerOfADurableCheckpoint_RaisesThatCheckpoint()
    {
        var clicked = new List<string>();
        RenderClickable(clicked, [Checkpoint(1, 1, 1.0), Checkpoint(2, 1, kind: CheckpointKind.Interrupt, step: 14)]);
        await WaitForClickSubscriptionAsync();

        Plotly.ClickPoint(TrainingChart.CheckpointTraceName(CheckpointKind.Interrupt), 1.4);

        Assert.Equal(["checkpoint 2"], clicked);
    }

    [Fact]
    public async Task Click_MarkerOfARemovedCheckpoint_RaisesItsEpochInstead()
    {
        var clicked = new List<string>();
        RenderClickable(clicked, [Checkpoint(1, 1, 1.0, status: CheckpointStatus.Deleted)]);
        await WaitForClickSubscriptionAsync();

        Plotly.ClickPoint(TrainingChart.CheckpointTraceName(CheckpointKind.Periodic), 1);

        Assert.Equal(["epoch 1"], clicked);
    }

    [Fact]
    public async Task Click_PointOfACurve_RaisesItsEpoch()
    {
        var clicked = new List<string>();
        RenderClickable(clicked, [Checkpoint(1, 1, 1.0)]);
        await WaitForClickSubscriptionAsync();

        Plotly.ClickPoint("val_loss", 2);

        Assert.Equal(["epoch 2"], clicked);
    }

    [Theory]
    [InlineData(1.6, 2)]
    [InlineData(0.2, 1)]
    public async Task Click_EmptySpace_RaisesTheEpochNearestWhereItWasPressed(double pressedX, int expected)
    {
        var clicked = new List<string>();
        RenderClickable(clicked, [Checkpoint(1, 1, 1.0)]);
        await WaitForClickSubscriptionAsync();

        Plotly.ClickEmpty(pressedX);

        Assert.Equal([$"epoch {expected}"], clicked);
    }

    private IRenderedComponent<TrainingChart> RenderChart(IReadOnlyList<MetricDto> metrics, IReadOnlyList<CheckpointDto> checkpoints, int? bestId = null)
    {
        _checkpoints.Reset(checkpoints);
        return Render<TrainingChart>(parameters => parameters
            .Add(c => c.ChartId, ChartId)
            .Add(c => c.InitialMetrics, metrics)
            .Add(c => c.Checkpoints, _checkpoints)
            .Add(c => c.BestCheckpointId, bestId));
    }

    private void RenderClickable(List<string> clicked, IReadOnlyList<CheckpointDto> checkpoints) =>
        Render<TrainingChart>(parameters => parameters
            .Add(c => c.ChartId, ChartId)
            .Add(c => c.InitialMetrics, [Epoch(1, 0.9, 1.0), Epoch(2, 0.5, 0.6)])
            .Add(c => c.Checkpoints, new RunCheckpoints(checkpoints))
            .Add(c => c.EpochClicked, epoch => clicked.Add($"epoch {epoch}"))
            .Add(c => c.CheckpointClicked, id => clicked.Add($"checkpoint {id}")));

    private async Task WaitForClickSubscriptionAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (Plotly.ClickSubscriptions == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(1, Plotly.ClickSubscriptions);
    }

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

    private static void AssertState(TraceState trace, double[] x, double?[] y)
    {
        Assert.Equal(x, trace.X);
        Assert.Equal(y, trace.Y);
    }
}
