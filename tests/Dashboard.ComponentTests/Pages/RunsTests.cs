using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Data.Entities;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Launching;
using Dashboard.Runs.Management;
using Microsoft.Extensions.DependencyInjection;

// The page shares its name with the core's namespace, which a bare "Runs" would find first.
using RunsPage = Dashboard.Web.Components.Pages.Runs;

namespace Dashboard.ComponentTests.Pages;

public sealed class RunsTests : DashboardTestContext
{
    [Fact]
    public async Task Render_WithRuns_ListsThemNewestFirst()
    {
        var first = await Database.AddRunAsync("first");
        var second = await Database.AddRunAsync("second", RunStatus.Failed);
        var third = await Database.AddRunAsync("third", RunStatus.Running, configure: r => r.Device = "cpu");
        await Database.AddEpochAsync(third.Id, 1, 0.9, 1.0, 0.6, 0.55);
        await Database.AddEpochAsync(third.Id, 2, 0.5, 0.6123, 0.8, 0.75);

        var cut = Render<RunsPage>();

        cut.WaitForAssertion(() => Assert.Equal([third.Id, second.Id, first.Id], RowIds(cut)));
        var cells = Cells(cut, third.Id);
        Assert.Equal($"#{third.Id} third", cells[0]);
        Assert.Equal(RunStatus.Running, cells[1]);
        Assert.Equal("spirals · mlp", cells[2]);
        Assert.Equal("2 / 5", cells[3]);
        Assert.Equal("0.6123 (epoch 2)", cells[4]);
        Assert.Equal("cpu", cells[5]);
        Assert.Equal($"runs/{third.Id}", cut.Find($"tr[data-run-id='{third.Id}'] a").GetAttribute("href"));
        Assert.Equal(["–", "–"], Cells(cut, first.Id)[4..6]);
    }

    [Fact]
    public void Render_WithoutRuns_InvitesToStartOne()
    {
        var cut = Render<RunsPage>();

        cut.WaitForAssertion(() => Assert.Contains("No runs yet", cut.Find(".empty").TextContent));
        Assert.Empty(cut.FindAll("[data-testid=runs-table]"));
    }

    [Fact]
    public async Task RunStatusChanged_ForANewRun_AddsItAtTheTop()
    {
        var old = await Database.AddRunAsync("old");
        var cut = Render<RunsPage>();
        cut.WaitForAssertion(() => Assert.Equal([old.Id], RowIds(cut)));

        // Creating through the service publishes the event the way the API and the New-run page do.
        var created = await Services.GetRequiredService<RunLauncher>().CreateAsync(new CreateRunRequest { Name = "fresh", Dataset = "spirals" });

        var id = created.Value!.Id;
        cut.WaitForAssertion(() => Assert.Equal([id, old.Id], RowIds(cut)));
        Assert.Equal(RunStatus.Queued, Cells(cut, id)[1]);
    }

    [Fact]
    public async Task RunStatusChanged_ForAListedRun_UpdatesItsRowInPlace()
    {
        var run = await Database.AddRunAsync("moving", RunStatus.Queued);
        var other = await Database.AddRunAsync("other");
        var cut = Render<RunsPage>();
        cut.WaitForAssertion(() => Assert.Equal(RunStatus.Queued, Cells(cut, run.Id)[1]));

        await Database.SetStatusAsync(run.Id, RunStatus.Running);
        Broadcaster.Publish(new RunStatusChangedEvent(run.Id, RunStatus.Running));

        cut.WaitForAssertion(() => Assert.Equal(RunStatus.Running, Cells(cut, run.Id)[1]));
        Assert.Equal([other.Id, run.Id], RowIds(cut));
    }

    [Fact]
    public async Task EpochCompleted_ForAListedRun_MovesItsEpochAndBestLoss()
    {
        var run = await Database.AddRunAsync("training", RunStatus.Running);
        var cut = Render<RunsPage>();
        cut.WaitForAssertion(() => Assert.Equal("0 / 5", Cells(cut, run.Id)[3]));

        var metrics = await Database.AddEpochAsync(run.Id, 1, 0.9, 0.8765, 0.6, 0.55);
        Broadcaster.Publish(new EpochCompletedEvent(run.Id, metrics));

        cut.WaitForAssertion(() => Assert.Equal(["1 / 5", "0.8765 (epoch 1)"], Cells(cut, run.Id)[3..5]));
    }

    [Fact]
    public async Task Render_TaggedRuns_ShowsTagChipsLinkingToTheirFilter()
    {
        var run = await Database.AddRunAsync("tagged", configure: r => r.TagsJson = """["baseline","lr:0.1"]""");

        var cut = Render<RunsPage>();

        cut.WaitForAssertion(() => Assert.Equal(["baseline", "lr:0.1"], cut.FindAll($"tr[data-run-id='{run.Id}'] [data-testid=tag-chip]").Select(c => c.TextContent)));
        Assert.EndsWith("?tag=baseline", cut.FindAll("[data-testid=tag-chip]")[0].GetAttribute("href"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Render_TagAndTextInTheQuery_ListsOnlyMatchingRunsAndHidesArchived()
    {
        var match = await Database.AddRunAsync("Alpha one", configure: r => r.TagsJson = """["x"]""");
        await Database.AddRunAsync("alpha untagged");
        await Database.AddRunAsync("beta", configure: r => r.TagsJson = """["x"]""");
        await Database.AddRunAsync("alpha archived", configure: r => { r.TagsJson = """["x"]"""; r.Archived = true; });

        NavigateTo("?tag=x&q=ALPHA");
        var cut = Render<RunsPage>();

        cut.WaitForAssertion(() => Assert.Equal([match.Id], RowIds(cut)));
        Assert.Equal("x", cut.Find("[data-testid=filter-tag]").GetAttribute("value"));
        Assert.Equal("ALPHA", cut.Find("[data-testid=filter-q]").GetAttribute("value"));
    }

    [Fact]
    public async Task Filter_Submitted_PutsItInTheUrl()
    {
        var cut = Render<RunsPage>();

        cut.Find("[data-testid=filter-q]").Change("my run");
        cut.Find("[data-testid=filter-tag]").Change("lr:0.1");
        await cut.Find("[data-testid=run-filter]").SubmitAsync();

        var uri = Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>().Uri;
        Assert.Contains("q=my%20run", uri, StringComparison.Ordinal);
        Assert.Contains("tag=lr%3A0.1", uri, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunStatusChanged_NewRunNotMatchingTheFilter_IsNotAdded()
    {
        var tagged = await Database.AddRunAsync("tagged", configure: r => r.TagsJson = """["x"]""");
        NavigateTo("?tag=x");
        var cut = Render<RunsPage>();
        cut.WaitForAssertion(() => Assert.Equal([tagged.Id], RowIds(cut)));

        var created = await Services.GetRequiredService<RunLauncher>().CreateAsync(new CreateRunRequest { Name = "untagged", Dataset = "spirals" });
        await Services.GetRequiredService<RunService>().UpdateAsync(tagged.Id, new UpdateRunRequest { Name = "renamed" });
        Broadcaster.Publish(new RunStatusChangedEvent(tagged.Id, RunStatus.Completed));

        cut.WaitForAssertion(() => Assert.Contains("renamed", cut.Find($"tr[data-run-id='{tagged.Id}']").TextContent, StringComparison.Ordinal));
        Assert.Equal([tagged.Id], RowIds(cut));
        Assert.NotNull(created.Value);
    }

    [Fact]
    public async Task Render_SortInTheQuery_SortsTheRowsThatWay()
    {
        var start = DateTime.UtcNow.AddHours(-5);
        var low = await Database.AddRunAsync("low", configure: r => (r.BestValLoss, r.StartedAt, r.FinishedAt) = (0.2, start, start.AddMinutes(30)));
        var none = await Database.AddRunAsync("none", RunStatus.Queued);
        var high = await Database.AddRunAsync("high", configure: r => (r.BestValLoss, r.StartedAt, r.FinishedAt) = (0.9, start, start.AddMinutes(10)));
        var tie = await Database.AddRunAsync("tie", configure: r => (r.BestValLoss, r.StartedAt, r.FinishedAt) = (0.2, start, start.AddMinutes(20)));
        var running = await Database.AddRunAsync("running", RunStatus.Running, configure: r => (r.BestValLoss, r.StartedAt) = (0.5, start));

        NavigateTo("?sort=bestValLoss&order=asc");
        var cut = Render<RunsPage>();

        // Equal losses in id order, the run without a loss last.
        cut.WaitForAssertion(() => Assert.Equal([low.Id, tie.Id, running.Id, high.Id, none.Id], RowIds(cut)));
        Assert.Equal("bestValLoss", cut.Find("[data-testid=sort]").GetAttribute("value"));

        NavigateTo("?sort=duration");
        cut.WaitForAssertion(() => Assert.Equal([running.Id, low.Id, tie.Id, high.Id, none.Id], RowIds(cut)));
        Assert.Contains("Descending", cut.Find("[data-testid=order-toggle]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OrderToggle_Clicked_PutsSortAndOrderInTheUrl()
    {
        var cut = Render<RunsPage>();

        cut.Find("[data-testid=sort]").Change("duration");
        await cut.Find("[data-testid=order-toggle]").ClickAsync(new());

        var uri = Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>().Uri;
        Assert.Contains("sort=duration", uri, StringComparison.Ordinal);
        Assert.Contains("order=asc", uri, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Render_UnknownSortInTheQuery_SaysSoAndListsNewestFirst()
    {
        var first = await Database.AddRunAsync("first");
        var second = await Database.AddRunAsync("second");

        NavigateTo("?sort=size");
        var cut = Render<RunsPage>();

        cut.WaitForAssertion(() => Assert.Equal([second.Id, first.Id], RowIds(cut)));
        Assert.Contains("Unknown sort 'size'", cut.Find("[data-testid=sort-error]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EpochCompleted_InBestLossOrder_MovesTheRunToItsPlace()
    {
        var good = await Database.AddRunAsync("good", configure: r => r.BestValLoss = 0.3);
        var run = await Database.AddRunAsync("training", RunStatus.Running);
        NavigateTo("?sort=bestValLoss&order=asc");
        var cut = Render<RunsPage>();
        cut.WaitForAssertion(() => Assert.Equal([good.Id, run.Id], RowIds(cut)));

        var metrics = await Database.AddEpochAsync(run.Id, 1, 0.2, 0.1, 0.9, 0.9);
        Broadcaster.Publish(new EpochCompletedEvent(run.Id, metrics));

        cut.WaitForAssertion(() => Assert.Equal([run.Id, good.Id], RowIds(cut)));
    }

    private void NavigateTo(string query) => Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>().NavigateTo(query);

    private static List<int> RowIds(IRenderedComponent<RunsPage> cut) =>
        [.. cut.FindAll("tbody tr").Select(tr => int.Parse(tr.GetAttribute("data-run-id")!, System.Globalization.CultureInfo.InvariantCulture))];

    private static string[] Cells(IRenderedComponent<RunsPage> cut, int runId) =>
        [.. cut.FindAll($"tr[data-run-id='{runId}'] td").Select(td => td.TextContent.Trim())];
}
