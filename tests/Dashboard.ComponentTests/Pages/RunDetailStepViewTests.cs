using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Data;
using Dashboard.Data.Entities;
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
        await using (var db = Database.CreateContext())
        {
            await StepMetricStore.WriteAsync(db, run.Id, [.. Enumerable.Range(1, 10).Select(s => new StepRow(s, 1, 1.0 / s))]);
        }

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
        Assert.Equal("true", cut.Find("[data-testid=view-per-step]").GetAttribute("aria-pressed"));

        cut.Find("[data-testid=view-per-epoch]").Click();

        cut.WaitForElement("[data-testid=training-chart]");
        Assert.Empty(cut.FindAll("[data-testid=step-loss-chart]"));
        var again = (await Plotly.WaitForPlotsAsync(4, WaitTimeout))[^1];
        Assert.Equal([1.0], again[TrainingChart.LossTrace].X);
        Assert.Equal([0.9], again[TrainingChart.LossTrace].Y);
    }
}
