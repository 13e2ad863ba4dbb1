using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Policies;
using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Web.Components.Controls;
using Dashboard.Web.Components.Pages;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Pages;

public sealed class RunDetailTests : DashboardTestContext
{
    private static readonly TimeSpan WaitTimeout = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Render_ExistingRun_ShowsItsFacts()
    {
        var run = await SeedRunAsync(RunStatus.Completed);

        var cut = RenderRun(run.Id);

        cut.WaitForAssertion(() => Assert.Equal($"#{run.Id} detail", cut.Find("h1").TextContent));
        Assert.Equal(RunStatus.Completed, cut.Find(".badge").TextContent);
        Assert.Equal(
            ["spirals · mlp", "2 / 5", "0.6000 @ epoch 2", "sgd, lr 0.01, batch 64", "7", "cpu", "web-a"],
            cut.FindAll(".facts dd").Select(dd => dd.TextContent));
        Assert.Empty(cut.FindAll("[data-testid=stop]"));
    }

    [Fact]
    public async Task Render_ExistingRun_ListsItsCheckpointsNewestFirst()
    {
        var run = await SeedRunAsync(RunStatus.Completed);

        var cut = RenderRun(run.Id);

        cut.WaitForAssertion(() => Assert.Equal(3, cut.FindAll("[data-testid=checkpoints-table] tbody tr").Count));
        var rows = cut.FindAll("[data-testid=checkpoints-table] tbody tr")
            .Select(tr => tr.QuerySelectorAll("td").Take(7).Select(td => td.TextContent).ToArray())
            .ToList();
        Assert.Equal(["2", "20", CheckpointKind.Interrupt, CheckpointStatus.Durable, "0.6000", "512 B"], rows[0][..6]);
        Assert.Equal(["2", "20", CheckpointKind.Periodic, CheckpointStatus.Durable, "0.6000", "3.0 MiB"], rows[1][..6]);
        Assert.Equal(["1", "10", CheckpointKind.Periodic, CheckpointStatus.Durable, "1.0000", "1.5 KiB"], rows[2][..6]);
        Assert.All(rows, row => Assert.Equal(12, row[6].Length));
    }

    [Fact]
    public async Task Render_ExistingRun_PlotsItsStoredEpochsAndDurableCheckpoints()
    {
        var run = await SeedRunAsync(RunStatus.Completed);

        var cut = RenderRun(run.Id);

        var traces = Assert.Single(await Plotly.WaitForPlotsAsync(1, WaitTimeout));
        Assert.Equal([1.0, 2.0], traces[TrainingChart.LossTrace].X);
        Assert.Equal([0.9, 0.5], traces[TrainingChart.LossTrace].Y);
        Assert.Equal([1.0, 2.0], traces[TrainingChart.CheckpointTrace(CheckpointKind.Periodic)].X);

        // Stopped right as epoch 3 began: just past epoch 2, so its marker does not hide behind epoch 2's.
        Assert.Equal(2.05, Assert.Single(traces[TrainingChart.CheckpointTrace(CheckpointKind.Interrupt)].X), 6);
    }

    [Fact]
    public void Render_UnknownRun_SaysSo()
    {
        var cut = RenderRun(404);

        cut.WaitForAssertion(() => Assert.Equal("Run not found", cut.Find("h1").TextContent));
    }

    [Fact]
    public async Task EpochCompleted_WhileShown_UpdatesTheCurrentEpochAndExtendsTheChart()
    {
        var run = await SeedRunAsync(RunStatus.Running);
        var cut = RenderRun(run.Id);
        cut.WaitForAssertion(() => Assert.Equal("2 / 5", CurrentEpoch(cut)));

        var metrics = await Database.AddEpochAsync(run.Id, 3, 0.4, 0.55, 0.85, 0.8);
        Broadcaster.Publish(new EpochCompletedEvent(run.Id, metrics));

        cut.WaitForAssertion(() => Assert.Equal("3 / 5", CurrentEpoch(cut)));
        Assert.Equal("0.5500 @ epoch 3", cut.FindAll(".facts dd")[2].TextContent);
        var extension = Assert.Single(await Plotly.WaitForExtensionsAsync(1, WaitTimeout));
        Assert.Equal([[3.0], [3.0], [3.0], [3.0]], extension.X);
        Assert.Equal([[0.4], [0.55], [0.85], [0.8]], extension.Y);
    }

    [Fact]
    public async Task EpochCompleted_OfAnotherRun_IsIgnored()
    {
        var run = await SeedRunAsync(RunStatus.Running);
        var other = await Database.AddRunAsync("other", RunStatus.Running);
        var cut = RenderRun(run.Id);
        cut.WaitForAssertion(() => Assert.Equal("2 / 5", CurrentEpoch(cut)));

        Broadcaster.Publish(new EpochCompletedEvent(other.Id, await Database.AddEpochAsync(other.Id, 1, 0.9, 1.0, 0.5, 0.5)));
        Broadcaster.Publish(new ProgressEvent(run.Id, new ProgressDto(3, 5, 1, 10, 100, 60)));

        // The progress event of this run comes after the other run's epoch, so once it shows, the epoch was passed over.
        cut.WaitForAssertion(() => Assert.Contains("batch 1 / 10", cut.Find(".progress-label").TextContent));
        Assert.Equal("2 / 5", CurrentEpoch(cut));
    }

    [Fact]
    public async Task CheckpointSaved_WhileShown_AddsItToTheTable()
    {
        var run = await SeedRunAsync(RunStatus.Running);
        var cut = RenderRun(run.Id);
        cut.WaitForAssertion(() => Assert.Equal(3, cut.FindAll("[data-testid=checkpoints-table] tbody tr").Count));

        var checkpoint = await Database.AddCheckpointAsync(run.Id, 3, 0.55);
        Broadcaster.Publish(new CheckpointSavedEvent(run.Id, checkpoint));

        cut.WaitForAssertion(() => Assert.Equal(
            $"{checkpoint.Id}",
            cut.Find("[data-testid=checkpoints-table] tbody tr").GetAttribute("data-checkpoint-id")));
    }

    [Fact]
    public async Task CheckpointSaved_ReadWhileItsFilesWereWritten_ClickOnItsEpochOpensIt()
    {
        // The page opened while epoch 3's checkpoint was being written (its row is read as "writing"); its "saved" event
        // comes after the read. Kept as writing, a click on epoch 3 opened the nearest usable one, epoch 2's (the
        // end-to-end click test's rare "expected 1, got 2").
        var run = await SeedRunAsync(RunStatus.Running);
        await Database.AddEpochAsync(run.Id, 3, 0.4, 0.55, 0.85, 0.8);
        var writing = await Database.AddCheckpointAsync(run.Id, 3, 0.55, status: CheckpointStatus.Writing);
        var cut = RenderRun(run.Id);
        var row = $"tr[data-checkpoint-id='{writing.Id}'] td:nth-child(4)";
        cut.WaitForAssertion(() => Assert.Equal(CheckpointStatus.Writing, cut.Find(row).TextContent));

        await using (var db = Database.CreateContext())
        {
            await db.Checkpoints.Where(c => c.Id == writing.Id).ExecuteUpdateAsync(u => u.SetProperty(c => c.Status, CheckpointStatus.Durable));
        }

        Broadcaster.Publish(new CheckpointSavedEvent(run.Id, writing with { Status = CheckpointStatus.Durable }));
        cut.WaitForAssertion(() => Assert.Equal(CheckpointStatus.Durable, cut.Find(row).TextContent));

        await cut.InvokeAsync(() => cut.FindComponent<TrainingChart>().Instance.OnChartClicked(null, 3.0));
        cut.WaitForAssertion(() => Assert.Equal("3", cut.Find("[data-testid=panel-epoch]").TextContent.Trim()));
    }

    [Fact]
    public async Task Stop_QueuedRun_StopsItAndHidesTheButton()
    {
        var run = await SeedRunAsync(RunStatus.Queued);
        var cut = RenderRun(run.Id);
        cut.WaitForAssertion(() => Assert.Equal("Stop", cut.Find("[data-testid=stop]").TextContent));

        await cut.Find("[data-testid=stop]").ClickAsync(new());

        // The service publishes the status change; the page re-reads the run when it hears it.
        cut.WaitForAssertion(() => Assert.Equal(RunStatus.Stopped, cut.Find(".badge").TextContent));
        Assert.Empty(cut.FindAll("[data-testid=stop]"));
        await using var db = Database.CreateContext();
        Assert.Equal(RunStatus.Stopped, (await db.Runs.SingleAsync(r => r.Id == run.Id)).Status);
    }

    [Fact]
    public async Task Render_ProgressArrivesWhileTheHistoryLoads_ChartStillStartsFromTheStoredEpochs()
    {
        // Opening a running run: progress events come several times a second, so one landing while the stored epochs
        // are read is the normal case, not a corner. The gate holds that read open so the event lands there every time.
        var run = await SeedRunAsync(RunStatus.Running);
        var gate = new QueryGate(nameof(DashboardDbContext.EpochMetrics));
        Services.ConfigureDbContext<DashboardDbContext>(options => options.AddInterceptors(gate));

        var cut = RenderRun(run.Id);
        await gate.Reached;
        var renders = cut.RenderCount;
        Broadcaster.Publish(new ProgressEvent(run.Id, new ProgressDto(3, 5, 1, 10, 100, 60)));
        cut.WaitForState(() => cut.RenderCount > renders);
        gate.Release();

        cut.WaitForAssertion(() => Assert.Equal(3, cut.FindAll("[data-testid=checkpoints-table] tbody tr").Count));
        var traces = Assert.Single(await Plotly.WaitForPlotsAsync(1, WaitTimeout));
        Assert.Equal([1.0, 2.0], traces[TrainingChart.LossTrace].X);
    }

    [Fact]
    public async Task Click_PointWithACheckpoint_ShowsThatCheckpointInThePanel()
    {
        var run = await SeedRunAsync(RunStatus.Completed);
        var cut = RenderRun(run.Id);
        await Plotly.WaitForPlotsAsync(1, WaitTimeout);
        cut.WaitForAssertion(() => Assert.Equal(1, Plotly.ClickSubscriptions));

        await cut.InvokeAsync(() => Plotly.Click(1));

        cut.WaitForAssertion(() => Assert.Equal("1", cut.Find("[data-testid=panel-epoch]").TextContent));
        Assert.Empty(cut.FindAll("[data-testid=selection-note]"));
        Assert.Contains("format=safetensors", cut.Find("[data-testid=panel-export]").GetAttribute("href"));
    }

    [Fact]
    public async Task Click_EpochWithoutACheckpoint_OffersTheNearestKeptOne()
    {
        var run = await SeedRunAsync(RunStatus.Running);
        var cut = RenderRun(run.Id);
        await Plotly.WaitForPlotsAsync(1, WaitTimeout);
        var metrics = await Database.AddEpochAsync(run.Id, 3, 0.4, 0.55, 0.85, 0.8);
        Broadcaster.Publish(new EpochCompletedEvent(run.Id, metrics));
        cut.WaitForAssertion(() => Assert.Equal("3 / 5", CurrentEpoch(cut)));

        // Clicked while the run goes on: the newest point has no checkpoint yet.
        await cut.InvokeAsync(() => Plotly.Click(3));

        cut.WaitForAssertion(() => Assert.Equal("2", cut.Find("[data-testid=panel-epoch]").TextContent));
        Assert.Contains("nearest kept one is from epoch 2", cut.Find("[data-testid=selection-note]").TextContent);
    }

    [Fact]
    public async Task FineTune_FromThePanel_StartsAChildRunAndOpensIt()
    {
        var run = await SeedRunAsync(RunStatus.Completed);
        await WriteCheckpointFilesAsync(run.Id);
        var cut = RenderRun(run.Id);
        await Plotly.WaitForPlotsAsync(1, WaitTimeout);
        await cut.InvokeAsync(() => Plotly.Click(2));
        cut.WaitForElement("[data-testid=panel-finetune]").Click();

        // The form opens once the checkpoint's data check is in (a drift would ask for confirmation first).
        cut.WaitForElement("[data-testid=finetune-epochs]").Change("0");
        cut.Find("[data-testid=finetune-start]").Click();
        cut.WaitForAssertion(() => Assert.Contains("Epochs must be between", cut.Find(".finetune .validation-message[data-field=epochs]").TextContent));
        Assert.Equal(1, await Database.CountRunsAsync());

        cut.Find("[data-testid=finetune-epochs]").Change("3");
        cut.Find("[data-testid=finetune-start]").Click();

        cut.WaitForAssertion(() => Assert.EndsWith("runs/2", Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>().Uri));
        await using var db = Database.CreateContext();
        var child = await db.Runs.SingleAsync(r => r.Id == 2);
        Assert.Equal((run.Id, RunStatus.Queued), (child.ParentRunId!.Value, child.Status));
    }

    [Fact]
    public async Task Resume_FromThePanelWithAHigherTarget_BranchesToThatManyEpochs()
    {
        var run = await SeedRunAsync(RunStatus.Completed);
        await WriteCheckpointFilesAsync(run.Id);
        var cut = RenderRun(run.Id);
        await Plotly.WaitForPlotsAsync(1, WaitTimeout);
        await cut.InvokeAsync(() => Plotly.Click(1));
        var target = cut.WaitForElement("[data-testid=panel-resume-epochs]");
        Assert.Equal("5", target.GetAttribute("value"));

        cut.Find("[data-testid=panel-resume-epochs]").Change("1");
        cut.Find("[data-testid=panel-resume]").Click();
        cut.WaitForAssertion(() => Assert.Contains("must be above the checkpoint's epoch 1", cut.Markup));
        Assert.Equal(1, await Database.CountRunsAsync());

        cut.Find("[data-testid=panel-resume-epochs]").Change("12");
        cut.Find("[data-testid=panel-resume]").Click();

        cut.WaitForAssertion(() => Assert.EndsWith("runs/2", Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>().Uri));
        await using var db = Database.CreateContext();
        var branch = await db.Runs.SingleAsync(r => r.Id == 2);
        Assert.Equal((run.Id, 12, RunStatus.Queued), (branch.ParentRunId!.Value, branch.Epochs, branch.Status));
    }

    [Fact]
    public async Task Render_RunMonitoringValAccuracy_RingsTheBestCheckpointByThatMonitor()
    {
        var run = await Database.AddRunAsync("by-accuracy", withConfig: c => c with { Checkpoint = new CheckpointPolicy { Monitor = "valAccuracy" } });
        await Database.AddEpochAsync(run.Id, 1, 0.9, 0.50, 0.6, 0.70);
        await Database.AddEpochAsync(run.Id, 2, 0.5, 0.60, 0.8, 0.80);
        await Database.AddCheckpointAsync(run.Id, 1, 0.50, metrics: new Dictionary<string, double> { ["valAccuracy"] = 0.70 });
        var mostAccurate = await Database.AddCheckpointAsync(run.Id, 2, 0.60, metrics: new Dictionary<string, double> { ["valAccuracy"] = 0.80 });

        var cut = RenderRun(run.Id);

        // The lower val_loss is epoch 1's; by the run's own monitor (val_accuracy, higher is better) epoch 2 is best.
        var best = (await Plotly.WaitForStateAsync(t => t[TrainingChart.BestTrace].X.Length == 1, WaitTimeout))[TrainingChart.BestTrace];
        Assert.Equal(("best by val_accuracy", 2.0), (best.Name, Assert.Single(best.X)));
        Assert.Equal($"best by val_accuracy: checkpoint #{mostAccurate.Id}", Assert.Single(best.Strings("text")));
        cut.WaitForAssertion(() => Assert.Contains($"checkpoint #{mostAccurate.Id}", cut.Find("[data-testid=resume-best]").GetAttribute("title")));
    }

    [Fact]
    public async Task CheckpointSaved_BetterThanTheBest_MovesTheRingAndLabelLive()
    {
        var run = await SeedRunAsync(RunStatus.Running);
        var cut = RenderRun(run.Id);
        var seededBest = (await Services.GetRequiredService<CheckpointQueries>().BestAsync(run.Id, "valLoss", "auto")).Value!;
        await Plotly.WaitForStateAsync(t => BestText(t) == $"best by val_loss: checkpoint #{seededBest.Id}", WaitTimeout);

        Broadcaster.Publish(new EpochCompletedEvent(run.Id, await Database.AddEpochAsync(run.Id, 3, 0.4, 0.55, 0.85, 0.8)));
        var better = await Database.AddCheckpointAsync(run.Id, 3, 0.55, CheckpointKind.Best);
        Broadcaster.Publish(new CheckpointSavedEvent(run.Id, better));

        var traces = await Plotly.WaitForStateAsync(t => BestText(t) == $"best by val_loss: checkpoint #{better.Id}", WaitTimeout);
        Assert.Equal($"best by val_loss: checkpoint #{better.Id}", BestText(traces));
        Assert.Equal([3.0], traces[TrainingChart.BestTrace].X);
        Assert.Equal([3.0], traces[TrainingChart.CheckpointTrace(CheckpointKind.Best)].X);
        Assert.Equal(3.0, Assert.Single(Plotly.CurrentLayout()["annotations"]!.AsArray())!["x"]!.GetValue<double>());
        Assert.Single(Plotly.Plots);
    }

    [Fact]
    public async Task Delete_FromTheTable_FadesItsMarker()
    {
        var run = await SeedRunAsync(RunStatus.Completed);
        var first = (await CheckpointIdsAsync(run.Id))[0];
        var cut = RenderRun(run.Id);
        await Plotly.WaitForPlotsAsync(1, WaitTimeout);

        await cut.Find($"tr[data-checkpoint-id='{first}'] button.danger").ClickAsync(new());

        // Faded, and behind the usable one, which now gives the legend its symbol.
        var traces = await Plotly.WaitForStateAsync(t => Periodic(t).Strings("marker.symbol") is [_, "circle-open"], WaitTimeout);
        Assert.Equal(["circle", "circle-open"], Periodic(traces).Strings("marker.symbol"));
        Assert.Equal([2.0, 1.0], Periodic(traces).X);
        Assert.Contains("deleted: cannot be resumed", Periodic(traces).Strings("text")[1]);
        cut.WaitForAssertion(() => Assert.Equal(CheckpointStatus.Deleted, cut.FindAll($"tr[data-checkpoint-id='{first}'] td")[3].TextContent));
    }

    [Fact]
    public async Task Pin_FromTheTable_RingsItsMarker()
    {
        var run = await SeedRunAsync(RunStatus.Completed);
        var first = (await CheckpointIdsAsync(run.Id))[0];
        var cut = RenderRun(run.Id);
        await Plotly.WaitForPlotsAsync(1, WaitTimeout);

        await cut.FindAll($"tr[data-checkpoint-id='{first}'] button").Single(b => b.TextContent == "Pin").ClickAsync(new());

        var traces = await Plotly.WaitForStateAsync(t => Periodic(t).Strings("marker.line.color").Contains(CheckpointMarkers.PinColor), WaitTimeout);
        Assert.Equal([2.0, 1.0], Periodic(traces).X);
        Assert.Equal(["#ffffff", CheckpointMarkers.PinColor], Periodic(traces).Strings("marker.line.color"));
        Assert.EndsWith("durable · pinned", Periodic(traces).Strings("text")[1]);
    }

    [Fact]
    public async Task Evaluate_CheckpointWhoseFilesAreGone_FadesItsMarkerAsMissing()
    {
        // The seeded rows have no files: reading one finds them missing, which marks the row and tells the page.
        var run = await SeedRunAsync(RunStatus.Completed);
        var cut = RenderRun(run.Id);
        await Plotly.WaitForPlotsAsync(1, WaitTimeout);
        cut.WaitForAssertion(() => Assert.Equal(1, Plotly.ClickSubscriptions));
        await cut.InvokeAsync(() => Plotly.ClickPoint(TrainingChart.CheckpointTraceName(CheckpointKind.Periodic), 1));

        await cut.WaitForElement("[data-testid=evaluate]").ClickAsync(new());

        var traces = await Plotly.WaitForStateAsync(t => Periodic(t).Strings("marker.symbol") is [_, "circle-open"], WaitTimeout);
        Assert.Equal([2.0, 1.0], Periodic(traces).X);
        Assert.Contains("missing: cannot be resumed", Periodic(traces).Strings("text")[1]);
        cut.WaitForAssertion(() => Assert.Contains("Only durable checkpoints", cut.Find("[data-testid=checkpoint-panel]").TextContent));
    }

    [Fact]
    public async Task Click_MarkerOfACheckpointInsideAnEpoch_ShowsExactlyThatCheckpoint()
    {
        var run = await SeedRunAsync(RunStatus.Completed);
        var interrupt = (await CheckpointIdsAsync(run.Id))[2];
        var cut = RenderRun(run.Id);
        await Plotly.WaitForPlotsAsync(1, WaitTimeout);
        cut.WaitForAssertion(() => Assert.Equal(1, Plotly.ClickSubscriptions));

        // Its epoch (2) also has a periodic checkpoint, which a click on the curve there would pick.
        await cut.InvokeAsync(() => Plotly.ClickPoint(TrainingChart.CheckpointTraceName(CheckpointKind.Interrupt), 2.05));

        cut.WaitForAssertion(() => Assert.Equal($"{interrupt}", cut.Find("[data-testid=checkpoint-panel]").GetAttribute("data-checkpoint-id")));
        Assert.Contains(CheckpointKind.Interrupt, cut.Find("[data-testid=checkpoint-panel] .kv").TextContent);
    }

    private IRenderedComponent<RunDetail> RenderRun(int runId) => Render<RunDetail>(parameters => parameters.Add(p => p.RunId, runId));

    private static TraceState Periodic(List<TraceState> traces) => traces[TrainingChart.CheckpointTrace(CheckpointKind.Periodic)];

    private static string? BestText(List<TraceState> traces) => traces[TrainingChart.BestTrace].Strings("text").SingleOrDefault();

    private async Task<List<int>> CheckpointIdsAsync(int runId)
    {
        await using var db = Database.CreateContext();
        return await db.Checkpoints.Where(c => c.RunId == runId).OrderBy(c => c.Id).Select(c => c.Id).ToListAsync();
    }

    private static string CurrentEpoch(IRenderedComponent<RunDetail> cut) => cut.Find("[data-testid=current-epoch]").TextContent;

    /// <summary>A run two epochs into five, with a periodic checkpoint per epoch and an interrupt one after the second.</summary>
    private async Task<Run> SeedRunAsync(string status)
    {
        var run = await Database.AddRunAsync("detail", status, configure: r => (r.Device, r.Worker) = ("cpu", "web-a"));
        await Database.AddEpochAsync(run.Id, 1, 0.9, 1.0, 0.6, 0.55);
        await Database.AddEpochAsync(run.Id, 2, 0.5, 0.6, 0.8, 0.75);
        await Database.AddCheckpointAsync(run.Id, 1, 1.0, sizeBytes: 1536);
        await Database.AddCheckpointAsync(run.Id, 2, 0.6, sizeBytes: 3 << 20);
        await Database.AddCheckpointAsync(run.Id, 2, 0.6, CheckpointKind.Interrupt, sizeBytes: 512);
        return run;
    }
}
