using System.Text.Json;
using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Management;
using Dashboard.Web.Components.Controls;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Controls;

public sealed class StepLossChartTests : DashboardTestContext
{
    /// <summary>The frame's width the stand-in module reports: 400 pixels of plotting area once the margins are off.</summary>
    private const double FrameWidth = 480;
    private const int Buckets = 400;
    private const int StepCount = 5_000;
    private const int Fork = 3_000;

    private static readonly TimeSpan WaitTimeout = TimeSpan.FromSeconds(5);

    public StepLossChartTests()
    {
        ChartFrames.Setup<double>("width", _ => true).SetResult(FrameWidth);
    }

    [Fact]
    public async Task Render_RunWithManySteps_DrawsTheServersBucketsAtTheChartsWidth()
    {
        var runId = await SeedRunAsync(StepCount);

        var cut = Render<StepLossChart>(parameters => parameters.Add(p => p.RunId, runId));

        var traces = (await Plotly.WaitForPlotsAsync(2, WaitTimeout))[^1];
        var expected = await RunService.StepsAsync(runId, 0, long.MaxValue, Buckets);
        Assert.NotNull(expected);
        Assert.True(expected.Downsampled);
        Assert.Equal(Buckets, expected.Points.Count);
        Assert.Equal(expected.Points.Select(p => (double)p.Step), traces[StepLossChart.LossTrace].X);
        Assert.Equal(expected.Points.Select(p => (double?)p.Loss), traces[StepLossChart.LossTrace].Y);
        Assert.Equal(expected.Points.Select(p => (double?)p.Min), traces[StepLossChart.MinTrace].Y);
        Assert.Equal(expected.Points.Select(p => (double?)p.Max), traces[StepLossChart.MaxTrace].Y);

        // The spike and the dip survive the thinning in the band, though the means smooth them away.
        Assert.Contains(9.0, traces[StepLossChart.MaxTrace].Y);
        Assert.Contains(-1.0, traces[StepLossChart.MinTrace].Y);
        cut.WaitForAssertion(() => Assert.StartsWith("5,000 steps (1–5,000) drawn as 400 buckets", cut.Find("[data-testid=step-summary]").TextContent));
    }

    [Fact]
    public async Task Relayout_ZoomThenDoubleClick_ReadsTheVisibleRangeThenTheWholeRunAgain()
    {
        var runId = await SeedRunAsync(StepCount);
        var cut = Render<StepLossChart>(parameters => parameters.Add(p => p.RunId, runId));
        await Plotly.WaitForPlotsAsync(2, WaitTimeout);
        Assert.Equal(1, Plotly.RelayoutSubscriptions);

        await cut.InvokeAsync(() => Plotly.ZoomX(1000.4, 1199.6));

        // Steps 1,000 to 1,200 fit in 400 pixels: every one of them, exactly as stored, and the view stays where the user put it.
        var zoomed = (await Plotly.WaitForPlotsAsync(3, WaitTimeout))[^1];
        Assert.Equal(Enumerable.Range(1000, 201).Select(s => (double)s), zoomed[StepLossChart.LossTrace].X);
        Assert.Equal(Enumerable.Range(1000, 201).Select(s => (double?)Loss(s)), zoomed[StepLossChart.LossTrace].Y);
        var axis = Plotly.PlotLayouts[^1].GetProperty("xaxis");
        Assert.Equal([1000.4, 1199.6], axis.GetProperty("range").EnumerateArray().Select(v => v.GetDouble()));
        cut.WaitForAssertion(() => Assert.StartsWith("201 steps (1,000–1,200), every one drawn", cut.Find("[data-testid=step-summary]").TextContent));

        await cut.InvokeAsync(Plotly.DoubleClick);

        var whole = (await Plotly.WaitForPlotsAsync(4, WaitTimeout))[^1];
        var expected = await RunService.StepsAsync(runId, 0, long.MaxValue, Buckets);
        Assert.Equal(expected!.Points.Select(p => (double)p.Step), whole[StepLossChart.LossTrace].X);
        Assert.False(Plotly.PlotLayouts[^1].GetProperty("xaxis").TryGetProperty("range", out var range) && range.ValueKind == JsonValueKind.Array);
    }

    [Fact]
    public async Task Progress_NewStepsStored_RedrawsTheWholeRunWithThem()
    {
        var runId = await SeedRunAsync(100);
        var cut = Render<StepLossChart>(parameters => parameters.Add(p => p.RunId, runId));
        Assert.Equal(100, (await Plotly.WaitForPlotsAsync(2, WaitTimeout))[^1][StepLossChart.LossTrace].X.Length);

        // The observer stores steps before it reports progress; the chart reads again on its next tick.
        await WriteStepsAsync(runId, 101, 150);
        Broadcaster.Publish(new ProgressEvent(runId, new ProgressDto(1, 5, 150, 1000, 100, 60, 150, new StepPointDto(101, 1, 1, 1, 50))));

        var grown = (await Plotly.WaitForPlotsAsync(3, WaitTimeout))[^1];
        Assert.Equal(Enumerable.Range(1, 150).Select(s => (double)s), grown[StepLossChart.LossTrace].X);
        cut.WaitForAssertion(() => Assert.StartsWith("150 steps", cut.Find("[data-testid=step-summary]").TextContent));
    }

    [Fact]
    public async Task Smoothing_Moved_RedrawsTheSmoothedCurveFromTheSamePoints()
    {
        var runId = await SeedRunAsync(100);
        var cut = Render<StepLossChart>(parameters => parameters.Add(p => p.RunId, runId));
        await Plotly.WaitForPlotsAsync(2, WaitTimeout);

        cut.Find("[data-testid=step-smoothing]").Input("0.9");

        var traces = (await Plotly.WaitForPlotsAsync(3, WaitTimeout))[^1];
        double[] raw = [.. Enumerable.Range(1, 100).Select(Loss)];
        Assert.Equal(raw.Select(v => (double?)v), traces[StepLossChart.LossTrace].Y);
        Assert.Equal(Smoothing.Ema(raw, 0.9).Select(v => (double?)v), traces[StepLossChart.SmoothedTrace].Y);
    }

    [Fact]
    public async Task Render_RunWithoutSteps_SaysSoAndDrawsNothing()
    {
        var run = await Database.AddRunAsync("no-steps", RunStatus.Queued);

        var cut = Render<StepLossChart>(parameters => parameters.Add(p => p.RunId, run.Id));

        var traces = (await Plotly.WaitForPlotsAsync(2, WaitTimeout))[^1];
        Assert.All(traces, t => Assert.Empty(t.X));
        cut.WaitForAssertion(() => Assert.Equal("No steps stored for this range yet.", cut.Find("[data-testid=step-summary]").TextContent));
    }

    [Fact]
    public async Task Render_BranchWithParent_DrawsTheParentsBucketsUpToTheForkLighter()
    {
        var (parentId, branchId) = await SeedBranchAsync();

        var cut = Render<StepLossChart>(parameters => parameters.Add(p => p.RunId, branchId).Add(p => p.Ancestors, [new StepAncestor(parentId, Fork)]));

        // The parent trained on past the fork; only its steps up to the fork lead into this branch, thinned as the branch's are.
        var traces = await Plotly.WaitForStateAsync(t => t.Count > StepLossChart.FirstAncestorTrace && t[StepLossChart.FirstAncestorTrace].X.Length > 0, WaitTimeout);
        var parent = traces[StepLossChart.FirstAncestorTrace];
        var expected = await RunService.StepsAsync(parentId, 0, Fork, Buckets);
        Assert.True(expected!.Downsampled);
        Assert.Equal($"run #{parentId} loss", parent.Name);
        Assert.Equal(expected.Points.Select(p => (double)p.Step), parent.X);
        Assert.True(parent.X[^1] <= Fork);
        Assert.Equal(Smoothing.Ema([.. expected.Points.Select(p => p.Loss)], 0.6).Select(v => (double?)v), parent.Y);
        Assert.InRange(parent.Json["opacity"]!.GetValue<double>(), 0.1, 0.6);
        Assert.Equal(Fork + 1.0, traces[StepLossChart.LossTrace].X[0]);
        Assert.Equal(StepLossChart.FirstAncestorTrace + 1, traces.Count);
        cut.WaitForAssertion(() => Assert.StartsWith("1,000 steps (3,001–4,000)", cut.Find("[data-testid=step-summary]").TextContent));
    }

    [Fact]
    public async Task Relayout_ZoomAcrossAndPastTheFork_ReadsTheParentOnlyUpToTheFork()
    {
        var (parentId, branchId) = await SeedBranchAsync();
        var cut = Render<StepLossChart>(parameters => parameters.Add(p => p.RunId, branchId).Add(p => p.Ancestors, [new StepAncestor(parentId, Fork)]));
        await Plotly.WaitForPlotsAsync(2, WaitTimeout);
        cut.Find("[data-testid=step-smoothing]").Input("0");
        await Plotly.WaitForPlotsAsync(3, WaitTimeout);

        await cut.InvokeAsync(() => Plotly.ZoomX(2900.4, 3100.6));

        // Either side of the fork, each run's own steps, every one of them: the parent's stop at the fork though it has more.
        var across = (await Plotly.WaitForPlotsAsync(4, WaitTimeout))[^1];
        Assert.Equal(Enumerable.Range(2900, 101).Select(s => (double)s), across[StepLossChart.FirstAncestorTrace].X);
        Assert.Equal(Enumerable.Range(2900, 101).Select(s => (double?)Loss(s)), across[StepLossChart.FirstAncestorTrace].Y);
        Assert.Equal(Enumerable.Range(Fork + 1, 101).Select(s => (double)s), across[StepLossChart.LossTrace].X);

        await cut.InvokeAsync(() => Plotly.ZoomX(3500, 3600));

        var past = (await Plotly.WaitForPlotsAsync(5, WaitTimeout))[^1];
        Assert.Empty(past[StepLossChart.FirstAncestorTrace].X);
        Assert.Equal(Enumerable.Range(3500, 101).Select(s => (double)s), past[StepLossChart.LossTrace].X);

        await cut.InvokeAsync(Plotly.DoubleClick);

        var whole = (await Plotly.WaitForPlotsAsync(6, WaitTimeout))[^1];
        var expected = await RunService.StepsAsync(parentId, 0, Fork, Buckets);
        Assert.Equal(expected!.Points.Select(p => (double)p.Step), whole[StepLossChart.FirstAncestorTrace].X);
    }

    /// <summary>A gently falling loss with one spike and one dip, so thinning that loses extremes shows.</summary>
    private static double Loss(int step) => step == 1234 ? 9 : step == 4321 ? -1 : 2.0 / (1 + (step / 500.0)) + (0.01 * (step % 7));

    private RunService RunService => Services.GetRequiredService<RunService>();

    /// <summary>A parent with all 5,000 steps and a branch from its step 3,000 that has reached step 4,000.</summary>
    private async Task<(int ParentId, int BranchId)> SeedBranchAsync()
    {
        var parentId = await SeedRunAsync(StepCount);
        var branch = await Database.AddRunAsync("branch", RunStatus.Running, configure: r => r.ParentRunId = parentId);
        await WriteStepsAsync(branch.Id, Fork + 1, 4000);
        return (parentId, branch.Id);
    }

    private async Task<int> SeedRunAsync(int steps)
    {
        var run = await Database.AddRunAsync("steps", RunStatus.Running);
        await WriteStepsAsync(run.Id, 1, steps);
        return run.Id;
    }

    private async Task WriteStepsAsync(int runId, int first, int last)
    {
        await using var db = Database.CreateContext();
        await StepMetricStore.WriteAsync(db, runId, [.. Enumerable.Range(first, last - first + 1).Select(s => new StepRow(s, 1, Loss(s)))]);
    }
}
