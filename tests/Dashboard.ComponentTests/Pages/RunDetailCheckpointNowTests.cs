using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Data.Entities;
using Dashboard.Web.Components.Pages;

namespace Dashboard.ComponentTests.Pages;

/// <summary>The run page's "Checkpoint now", through the same core method as <c>POST /api/runs/{id}/checkpoint</c>.</summary>
public sealed class RunDetailCheckpointNowTests : DashboardTestContext
{
    [Fact]
    public async Task CheckpointNow_RunHoldingATrainingSlot_AsksItForACheckpointAndSaysSo()
    {
        var run = await Database.AddRunAsync("training", status: RunStatus.Running);
        using var active = Queue.TryActivate(run.Id)!;
        var cut = Render<RunDetail>(parameters => parameters.Add(p => p.RunId, run.Id));

        await cut.WaitForElement("[data-testid=checkpoint-now]").ClickAsync(new());

        cut.WaitForAssertion(() => Assert.Equal("A checkpoint will be written after the current batch.", cut.Find("[role=status]").TextContent));
        Assert.True(active.TakeCheckpointRequest());
    }

    [Fact]
    public async Task CheckpointNow_RunThatLeftItsSlot_SaysItIsNotTrainingAnyMore()
    {
        var run = await Database.AddRunAsync("ended", status: RunStatus.Running);
        var cut = Render<RunDetail>(parameters => parameters.Add(p => p.RunId, run.Id));

        await cut.WaitForElement("[data-testid=checkpoint-now]").ClickAsync(new());

        cut.WaitForAssertion(() => Assert.Equal("The run is not training any more.", cut.Find("[role=status]").TextContent));
    }
}
