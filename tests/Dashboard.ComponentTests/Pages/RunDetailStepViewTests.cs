using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Configuration;
using Dashboard.Web.Components.Controls;
using Dashboard.Web.Components.Pages;

namespace Dashboard.ComponentTests.Pages;

/// <summary>The run page's "Per epoch | Per step" toggle.</summary>
public sealed class RunDetailStepViewTests : DashboardTestContext
{
    private static readonly TimeSpan WaitTimeout = TimeSpan.FromSeconds(5);

    public RunDetailStepViewTests()
    {
        ChartFrames.Setup<double>("width", _ => true).SetResult(800);
    }

    [Fact]
    public async Task Toggle_PerStepThenPerEpoch_SwapsTheEpochChartForTheStepChartAndBack()
    {
        var run = await Database.AddRunAsync("toggle", RunStatus.Completed);
        await Database.AddEpochAsync(run.Id, 1, 0.9, 1.0, 0.6, 0.55);
        await WriteStepsAsync(run.Id, 1, 10);

        var cut = Render<RunDetail>(parameters => parameters.Add(p => p.RunId, run.Id));
        var epochView = (await Plotly.WaitForPlotsAsync(1, WaitTimeout))[^1];
        Assert.Equal("loss", epochView[TrainingChart.LossTrace].Name);
        Assert.Equal("true", cut.Find("[data-testid=view-per-epoch]").GetAttribute("aria-pressed"));

        cut.Find("[data-testid=view-per-step]").Click();

        // The step chart draws once empty, then with the run's steps.
        cut.WaitForElement("[data-testid=step-loss-chart]");
        Assert.Empty(cut.FindAll("[data-testid=training-chart]"));
        var stepView = (await Plotly.WaitForPlotsAsync(3, WaitTimeout))[^1];
        Assert.Equal(Enumerable.Range(1, 10).Select(s => (double)s), stepView[StepLossChart.LossTrace].X);
        Assert.Equal(Enumerable.Range(1, 10).Select(s => (double?)(1.0 / s)), stepView[StepLossChart.LossTrace].Y);
        Assert.Equal(StepLossChart.FirstAncestorTrace, stepView.Count);
        Assert.Equal("true", cut.Find("[data-testid=view-per-step]").GetAttribute("aria-pressed"));

        cut.Find("[data-testid=view-per-epoch]").Click();

        cut.WaitForElement("[data-testid=training-chart]");
        Assert.Empty(cut.FindAll("[data-testid=step-loss-chart]"));
        var again = (await Plotly.WaitForPlotsAsync(4, WaitTimeout))[^1];
        Assert.Equal([1.0], again[TrainingChart.LossTrace].X);
        Assert.Equal([0.9], again[TrainingChart.LossTrace].Y);
    }

    [Fact]
    public async Task PerStepView_BranchOfABranch_DrawsEachAncestorOnlyUpToItsFork()
    {
        // Root run A trains to step 300; B resumes from A's step 100 and trains to 250; C resumes from B's step 200.
        var a = await Database.AddRunAsync("a");
        await WriteStepsAsync(a.Id, 1, 300);
        var forkOfB = await Database.AddCheckpointAsync(a.Id, epoch: 10, valLoss: 0.5);
        var b = await Database.AddRunAsync("b", configure: r => (r.ParentRunId, r.ParentCheckpointId) = (a.Id, forkOfB.Id));
        await WriteStepsAsync(b.Id, 101, 250);
        var forkOfC = await Database.AddCheckpointAsync(b.Id, epoch: 20, valLoss: 0.4);
        var c = await Database.AddRunAsync("c", configure: r => (r.ParentRunId, r.ParentCheckpointId) = (b.Id, forkOfC.Id));
        await WriteStepsAsync(c.Id, 201, 260);

        var cut = Render<RunDetail>(parameters => parameters.Add(p => p.RunId, c.Id));
        await Plotly.WaitForPlotsAsync(1, WaitTimeout);
        cut.Find("[data-testid=view-per-step]").Click();

        var traces = (await Plotly.WaitForPlotsAsync(3, WaitTimeout))[^1];
        Assert.Equal(StepLossChart.FirstAncestorTrace + 2, traces.Count);
        Assert.Equal(Enumerable.Range(201, 60).Select(s => (double)s), traces[StepLossChart.LossTrace].X);
        var parent = traces[StepLossChart.FirstAncestorTrace];
        Assert.Equal($"run #{b.Id} loss", parent.Name);
        Assert.Equal(Enumerable.Range(101, 100).Select(s => (double)s), parent.X);
        var grandparent = traces[StepLossChart.FirstAncestorTrace + 1];
        Assert.Equal($"run #{a.Id} loss", grandparent.Name);
        Assert.Equal(Enumerable.Range(1, 100).Select(s => (double)s), grandparent.X);
        Assert.EndsWith($"Up to the fork at step 200, the lighter curve is from run #{b.Id} and run #{a.Id}.", cut.Find("[data-testid=chart-hint]").TextContent);
    }

    [Fact]
    public async Task PerStepView_FineTune_DrawsNoParentSteps()
    {
        // A fine-tune counts its own steps from 1, so its parent's steps would lie on top of its own.
        var parent = await Database.AddRunAsync("parent");
        await WriteStepsAsync(parent.Id, 1, 100);
        var fork = await Database.AddCheckpointAsync(parent.Id, epoch: 5, valLoss: 0.5);
        var child = await Database.AddRunAsync(
            "fine-tune",
            configure: r => (r.ParentRunId, r.ParentCheckpointId) = (parent.Id, fork.Id),
            withConfig: config => config with { FineTune = new FineTuneSettings() });
        await WriteStepsAsync(child.Id, 1, 20);

        var cut = Render<RunDetail>(parameters => parameters.Add(p => p.RunId, child.Id));
        await Plotly.WaitForPlotsAsync(1, WaitTimeout);
        cut.Find("[data-testid=view-per-step]").Click();

        var traces = (await Plotly.WaitForPlotsAsync(3, WaitTimeout))[^1];
        Assert.Equal(Enumerable.Range(1, 20).Select(s => (double)s), traces[StepLossChart.LossTrace].X);
        Assert.Equal(StepLossChart.FirstAncestorTrace, traces.Count);
        Assert.DoesNotContain("lighter curve", cut.Find("[data-testid=chart-hint]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChartHint_PerStepView_TellsHowToZoomRatherThanToClickAPoint()
    {
        var run = await Database.AddRunAsync("hint");
        var cut = Render<RunDetail>(parameters => parameters.Add(p => p.RunId, run.Id));
        cut.WaitForAssertion(() => Assert.StartsWith("Click a checkpoint's marker", cut.Find("[data-testid=chart-hint]").TextContent, StringComparison.Ordinal));

        // Awaited: the page loads on worker threads (the model is described off the render thread), so a click may
        // reach a renderer still busy with the load's last render, and only its task tells when it was handled.
        await cut.Find("[data-testid=view-per-step]").ClickAsync(new());

        var hint = cut.Find("[data-testid=chart-hint]").TextContent;
        Assert.StartsWith("Drag across the chart to zoom in", hint, StringComparison.Ordinal);
        Assert.Contains("double-click for the whole run", hint, StringComparison.Ordinal);
        Assert.Contains("lowest to highest loss", hint, StringComparison.Ordinal);
        Assert.DoesNotContain("Click", hint, StringComparison.Ordinal);

        await cut.Find("[data-testid=view-per-epoch]").ClickAsync(new());

        cut.WaitForAssertion(() => Assert.StartsWith("Click a checkpoint's marker", cut.Find("[data-testid=chart-hint]").TextContent, StringComparison.Ordinal));
    }

    private async Task WriteStepsAsync(int runId, int first, int last)
    {
        await using var db = Database.CreateContext();
        await StepMetricStore.WriteAsync(db, runId, [.. Enumerable.Range(first, last - first + 1).Select(s => new StepRow(s, 1, 1.0 / s))]);
    }
}
