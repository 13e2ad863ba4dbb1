using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Management;
using Dashboard.Web.Components.Controls;
using Microsoft.AspNetCore.Components;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Controls;

public sealed class RunManagementTests : DashboardTestContext
{
    [Fact]
    public async Task Save_ValidEdits_StoresThemAndShowsNotesAsPlainTextWithLineBreaks()
    {
        var run = await Database.AddRunAsync("before");
        RunDto? changed = null;
        var cut = Render<RunManagement>(p => p.Add(c => c.Run, RunDto.From(run)).Add(c => c.RunChanged, r => changed = r));

        cut.Find("[data-testid=edit-run]").Click();
        cut.Find("[data-testid=edit-name]").Change("after");
        cut.Find("[data-testid=edit-tags]").Change("baseline, lr:0.1  baseline2");
        cut.Find("[data-testid=edit-notes]").Change("first line\r\n<script>alert(1)</script>\nthird");
        await cut.Find("[data-testid=run-edit]").SubmitAsync();

        var stored = await Services.GetRequiredService<RunService>().GetAsync(run.Id);
        Assert.Equal(("after", "first line\n<script>alert(1)</script>\nthird"), (stored!.Name, stored.Notes));
        Assert.Equal(["baseline", "lr:0.1", "baseline2"], stored.Tags!);
        Assert.Equal(stored.Name, changed?.Name);
        cut.WaitForAssertion(() => Assert.Equal(["baseline", "lr:0.1", "baseline2"], cut.FindAll("[data-testid=run-tags] .chip").Select(c => c.TextContent)));
        var notes = cut.Find("[data-testid=run-notes]");
        Assert.Empty(notes.QuerySelectorAll("script"));
        Assert.Equal(2, notes.QuerySelectorAll("br").Length);
        Assert.Contains("<script>alert(1)</script>", notes.TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Save_InvalidTag_ShowsTheFieldErrorAndStoresNothing()
    {
        var run = await Database.AddRunAsync("keep");
        var cut = Render<RunManagement>(p => p.Add(c => c.Run, RunDto.From(run)));

        cut.Find("[data-testid=edit-run]").Click();
        cut.Find("[data-testid=edit-name]").Change("changed");
        cut.Find("[data-testid=edit-tags]").Change("ok bad/tag");
        await cut.Find("[data-testid=run-edit]").SubmitAsync();

        cut.WaitForAssertion(() => Assert.Contains("Tag 2", cut.Find(".validation-message[data-field=tags]").TextContent, StringComparison.Ordinal));
        Assert.NotEmpty(cut.FindAll("[data-testid=run-edit]"));
        var stored = await Services.GetRequiredService<RunService>().GetAsync(run.Id);
        Assert.Equal("keep", stored!.Name);
        Assert.Empty(stored.Tags!);
    }

    [Fact]
    public async Task Archive_Click_StoresItAndOffersUnarchive()
    {
        var run = await Database.AddRunAsync("tidy");
        var cut = Render<RunManagement>(p => p.Add(c => c.Run, RunDto.From(run)));

        await cut.Find("[data-testid=archive-run]").ClickAsync(new());

        cut.WaitForAssertion(() => Assert.Equal("Unarchive", cut.Find("[data-testid=archive-run]").TextContent));
        Assert.True((await Services.GetRequiredService<RunService>().GetAsync(run.Id))!.Archived);
        await cut.Find("[data-testid=archive-run]").ClickAsync(new());
        cut.WaitForAssertion(() => Assert.Equal("Archive", cut.Find("[data-testid=archive-run]").TextContent));
        Assert.False((await Services.GetRequiredService<RunService>().GetAsync(run.Id))!.Archived);
    }

    [Fact]
    public async Task Delete_Confirmed_NamesWhatGoesThenRemovesRowsAndFilesAndGoesToTheList()
    {
        var run = await Database.AddRunAsync("doomed");
        await Database.AddEpochAsync(run.Id, 1, 0.9, 1.0, 0.5, 0.5);
        var pinned = await Database.AddCheckpointAsync(run.Id, 1, 1.0);
        await Database.AddCheckpointAsync(run.Id, 2, 0.9);
        await WriteCheckpointFilesAsync(run.Id);
        await using (var db = Database.CreateContext())
        {
            await db.Checkpoints.Where(c => c.Id == pinned.Id).ExecuteUpdateAsync(s => s.SetProperty(c => c.Pinned, true));
        }

        var folder = Path.Combine(Services.GetRequiredService<CheckpointStore>().Root, $"run-{run.Id:D6}");
        Assert.True(Directory.Exists(folder));
        var cut = Render<RunManagement>(p => p.Add(c => c.Run, RunDto.From(run)));

        await cut.Find("[data-testid=delete-run]").ClickAsync(new());

        var confirmation = cut.WaitForElement("[data-testid=confirm-delete]").TextContent;
        Assert.Contains("doomed", confirmation, StringComparison.Ordinal);
        Assert.Contains("1 epoch(s)", confirmation, StringComparison.Ordinal);
        Assert.Contains("2 checkpoint(s)", confirmation, StringComparison.Ordinal);
        Assert.Contains("1 of them pinned", confirmation, StringComparison.Ordinal);
        Assert.Equal(1, await Database.CountRunsAsync());

        await cut.Find("[data-testid=confirm-delete-yes]").ClickAsync(new());

        cut.WaitForAssertion(() => Assert.Equal("http://localhost/", Services.GetRequiredService<NavigationManager>().Uri));
        Assert.Equal(0, await Database.CountRunsAsync());
        await using var check = Database.CreateContext();
        Assert.Equal(0, await check.Checkpoints.CountAsync(c => c.RunId == run.Id));
        Assert.Equal(0, await check.EpochMetrics.CountAsync(m => m.RunId == run.Id));
        Assert.False(Directory.Exists(folder), $"{folder} is still on disk.");
    }

    [Fact]
    public async Task Delete_RunningRun_ShowsWhyAndKeepsIt()
    {
        var run = await Database.AddRunAsync("busy", RunStatus.Running);
        var cut = Render<RunManagement>(p => p.Add(c => c.Run, RunDto.From(run)));

        await cut.Find("[data-testid=delete-run]").ClickAsync(new());
        await cut.WaitForElement("[data-testid=confirm-delete-yes]").ClickAsync(new());

        cut.WaitForAssertion(() => Assert.Contains("running", cut.Find("[data-testid=run-manage-message]").TextContent, StringComparison.Ordinal));
        Assert.Equal(1, await Database.CountRunsAsync());
    }
}
