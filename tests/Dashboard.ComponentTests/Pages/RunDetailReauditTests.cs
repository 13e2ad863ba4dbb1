using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Data.Entities;
using Dashboard.Web.Components.Pages;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.ComponentTests.Pages;

/// <summary>The run page's way back for a checkpoint marked missing: its files are back (a remounted volume), a click finds them.</summary>
public sealed class RunDetailReauditTests : DashboardTestContext
{
    [Fact]
    public async Task Reaudit_MissingCheckpointWhoseFilesAreBack_ShowsItDurableAgain()
    {
        var run = await Database.AddRunAsync("remounted");
        var checkpoint = await Database.AddCheckpointAsync(run.Id, 1, 0.5);
        await WriteCheckpointFilesAsync(run.Id);
        await using (var db = Database.CreateContext())
        {
            await db.Checkpoints.Where(c => c.Id == checkpoint.Id).ExecuteUpdateAsync(s => s.SetProperty(c => c.Status, CheckpointStatus.Missing));
        }

        var cut = Render<RunDetail>(parameters => parameters.Add(p => p.RunId, run.Id));
        cut.WaitForElement("[data-testid=reaudit]").Click();

        cut.WaitForAssertion(() => Assert.Contains("1 checkpoint(s) back, 0 still missing", cut.Find("[role=status]").TextContent, StringComparison.Ordinal));
        Assert.Equal(CheckpointStatus.Durable, cut.Find("[data-testid=checkpoints-table] tbody tr td:nth-child(4)").TextContent);
        Assert.Empty(cut.FindAll("[data-testid=reaudit]"));
    }
}
