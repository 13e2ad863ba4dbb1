using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Data.Entities;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Management;
using Dashboard.Web.Components.Pages;
using Microsoft.Extensions.DependencyInjection;

// The page shares its name with the core's namespace, which a bare "Runs" would find first.
using RunsPage = Dashboard.Web.Components.Pages.Runs;

namespace Dashboard.ComponentTests.Pages;

/// <summary>
/// Changes made elsewhere (another tab, a script) reach open pages through the core's events: a deletion or an archive
/// goes through the real services, which publish, and the pages follow without a reload.
/// </summary>
public sealed class RunLiveChangesTests : DashboardTestContext
{
    [Fact]
    public async Task RunsPage_RunDeletedElsewhere_DropsItsRow()
    {
        var kept = await Database.AddRunAsync("kept");
        var doomed = await Database.AddRunAsync("doomed");
        var cut = Render<RunsPage>();
        cut.WaitForAssertion(() => Assert.Equal([doomed.Id, kept.Id], RowIds(cut)));

        var result = await Services.GetRequiredService<RunDeletion>().DeleteAsync(doomed.Id, force: false);

        Assert.Equal(204, result.Status);
        cut.WaitForAssertion(() => Assert.Equal([kept.Id], RowIds(cut)));
    }

    [Fact]
    public async Task RunsPage_RunArchivedAndRenamedElsewhere_FollowsLive()
    {
        var renamed = await Database.AddRunAsync("old name");
        var archived = await Database.AddRunAsync("to archive");
        var cut = Render<RunsPage>();
        cut.WaitForAssertion(() => Assert.Equal([archived.Id, renamed.Id], RowIds(cut)));
        var runs = Services.GetRequiredService<RunService>();

        await runs.UpdateAsync(renamed.Id, new UpdateRunRequest { Name = "new name" });
        await runs.UpdateAsync(archived.Id, new UpdateRunRequest { Archived = true });

        cut.WaitForAssertion(() => Assert.Equal([renamed.Id], RowIds(cut)));
        Assert.Equal($"#{renamed.Id} new name", cut.Find($"tr[data-run-id='{renamed.Id}'] td").TextContent.Trim());
    }

    [Fact]
    public async Task RunDetail_RunDeletedWhileShown_SaysItWasDeleted()
    {
        var run = await Database.AddRunAsync("shown", RunStatus.Completed);
        var cut = Render<RunDetail>(parameters => parameters.Add(p => p.RunId, run.Id));
        // The page's first load describes the model with torch, slow on a busy machine the first time in a process.
        cut.WaitForAssertion(() => Assert.Equal($"#{run.Id} shown", cut.Find("h1").TextContent), TimeSpan.FromSeconds(60));

        await Services.GetRequiredService<RunDeletion>().DeleteAsync(run.Id, force: false);

        cut.WaitForAssertion(() => Assert.Equal("Run deleted", cut.Find("h1").TextContent));
        Assert.Contains("This run was deleted", cut.Find(".run-deleted").TextContent, StringComparison.Ordinal);
        Assert.Empty(cut.FindAll("[data-testid=checkpoints-table]"));
    }

    private static List<int> RowIds(IRenderedComponent<RunsPage> cut) =>
        [.. cut.FindAll("tbody tr").Select(tr => int.Parse(tr.GetAttribute("data-run-id")!, System.Globalization.CultureInfo.InvariantCulture))];
}
