using System.Net.Http.Json;
using Dashboard.TestSupport;
using Dashboard.Web.Contracts;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Dashboard.EndToEndTests;

/// <summary>What people come for: click the curve while it grows, resume from the best point, take a checkpoint home.</summary>
[Collection(BrowserCollection.Name)]
public sealed class CurveActionTests(BrowserFixture fixture)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private readonly DashboardServer _server = fixture.Server;

    [Fact]
    public async Task ClickPointDuringLiveRun_ExportsIt_AndResumeFromBestDrawsTheBranchLive()
    {
        var run = await _server.CreateRunAsync(new { name = "e2e-click", dataset = "mnist", model = "mlp", epochs = 400, sampleLimit = 3000, learningRate = 0.02 });
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = await session.NewPageAsync();
        int? branchId = null;
        try
        {
            await page.GotoAsync($"runs/{run.Id}");
            await BrowserSession.WaitForInteractiveAsync(page);
            await session.WaitForPlotAsync(page, 3, Timeout, "val_loss");

            // Clicked while extendTraces keeps adding points: Plotly's click must still reach the page.
            await ClickFirstPointAsync(page, "val_loss");
            await Expect(page.GetByTestId("checkpoint-panel")).ToBeVisibleAsync(new() { Timeout = 10_000 });
            var epoch = int.Parse(await page.GetByTestId("panel-epoch").InnerTextAsync(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(1, epoch);

            var download = await page.RunAndWaitForDownloadAsync(() => page.GetByTestId("panel-export").ClickAsync());
            Assert.EndsWith(".safetensors", download.SuggestedFilename);
            var file = await download.PathAsync();
            Assert.True(new FileInfo(file!).Length > 8, "The download is empty.");

            // Stopped, its newest checkpoint is the interrupt one, so resuming from the best epoch starts a branch.
            await _server.StopRunAsync(run.Id);
            await Expect(NewRunPageTests.StatusBadge(page)).ToHaveAttributeAsync("data-status", "stopped", new() { Timeout = 60_000 });

            // The chart rings and labels the checkpoint that "Resume from best" resumes: the best by the run's monitor.
            var best = await _server.Client.GetFromJsonAsync<CheckpointDto>($"api/runs/{run.Id}/checkpoints/best", DashboardServer.Json);
            var ring = await session.WaitForPlotAsync(
                page, t => t.SingleOrDefault(m => m.Name == "best by val_loss") is { X: [var x] } && x == best!.Epoch, Timeout, $"the best ring at epoch {best!.Epoch}");
            Assert.Equal([(double)best.Epoch], ring.Single(t => t.Name == "best by val_loss").X);
            Assert.Equal(["best"], await BrowserSession.ReadAnnotationsAsync(page));
            await page.GetByTestId("resume-best").ClickAsync();
            await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex(@"/runs/(?!" + run.Id + @"$)\d+$"), new() { Timeout = 30_000 });
            branchId = int.Parse(page.Url[(page.Url.LastIndexOf('/') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            var branch = await _server.GetRunAsync(branchId.Value);
            Assert.Equal((run.Id, best.Id), (branch.ParentRunId, branch.ParentCheckpointId));

            // The branch's own points arrive live, beside its parent's faded curve up to the fork.
            // Waiting on the parent's trace too: until the branch's chart replaces the parent's, the page still shows the old one.
            var traces = await session.WaitForPlotAsync(page, 1, Timeout, "loss", "val_loss", $"run #{run.Id} val_loss");
            Assert.True(traces.Single(t => t.Name == "val_loss").X.Min() > traces.Single(t => t.Name == $"run #{run.Id} val_loss").X.Max() - 1);
        }
        finally
        {
            // The branch too: left training its 400 epochs, it would hold the only slot through the tests that follow.
            await _server.StopRunAsync(run.Id);
            if (branchId is { } id)
            {
                await _server.StopRunAsync(id);
            }
        }
    }

    [Fact]
    public async Task DoubleClickResumeInCheckpointPanel_StartsExactlyOneBranch()
    {
        var run = await _server.CreateRunAsync(new { name = "e2e-double-click", dataset = "spirals", model = "mlp", epochs = 3, learningRate = 0.01 });
        await _server.WaitForRunStatusAsync(run.Id, "completed");
        var first = (await _server.GetCheckpointsAsync(run.Id))[0];
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = await session.NewPageAsync();
        await page.GotoAsync($"runs/{run.Id}");
        await BrowserSession.WaitForInteractiveAsync(page);
        // Drawn before the panel opens, as a person sees it: a plot created after would simply start narrow.
        await session.WaitForPlotAsync(page, 3, Timeout, "val_loss");

        // Epoch 1 is not the run's newest checkpoint, so Resume starts a branch: the case a second click could duplicate.
        await page.Locator($"tr[data-checkpoint-id='{first.Id}']").ClickAsync();
        await Expect(page.GetByTestId("checkpoint-panel")).ToHaveAttributeAsync("data-checkpoint-id", first.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

        // The panel takes a column from the chart without the window changing size: the plot must shrink into what is
        // left, not keep its width and lie over the panel's buttons.
        await page.WaitForFunctionAsync(
            """
            () => {
              const plot = document.querySelector('[data-testid=training-chart] .main-svg');
              const panel = document.querySelector('[data-testid=checkpoint-panel]');
              return plot && panel && plot.getBoundingClientRect().right <= panel.getBoundingClientRect().left;
            }
            """,
            null,
            new() { Timeout = 10_000 });
        await page.GetByTestId("panel-resume").DblClickAsync();

        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex(@"/runs/(?!" + run.Id + @"$)\d+$"), new() { Timeout = 30_000 });
        var branchId = int.Parse(page.Url[(page.Url.LastIndexOf('/') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var branch = await _server.WaitForRunStatusAsync(branchId, "completed", Timeout);
        Assert.Equal(first.Id, branch.ParentCheckpointId);

        // The circuit handles a page's events in order, and the branch trained for a while after the first: any second
        // click has been dealt with by now.
        var runs = await _server.Client.GetFromJsonAsync<List<RunDto>>("api/runs", DashboardServer.Json);
        Assert.Equal([branchId], runs!.Where(r => r.ParentRunId == run.Id).Select(r => r.Id));
        Assert.Equal([2, 3], (await _server.GetMetricsAsync(branchId)).Select(m => m.Epoch));
    }

    /// <summary>Hovers then clicks the trace's first marker, as a person would; Plotly's drag layer receives the events.</summary>
    private static async Task ClickFirstPointAsync(IPage page, string traceName)
    {
        var index = await page.EvaluateAsync<int>(
            "name => document.querySelector('.js-plotly-plot').data.findIndex(t => t.name === name)", traceName);
        var marker = page.Locator($".js-plotly-plot .scatterlayer .trace:nth-of-type({index + 1}) .points path").First;
        var box = await marker.BoundingBoxAsync() ?? throw new InvalidOperationException($"The {traceName} trace has no marker on screen.");
        await page.Mouse.MoveAsync(box.X + (box.Width / 2), box.Y + (box.Height / 2));
        await page.Mouse.ClickAsync(box.X + (box.Width / 2), box.Y + (box.Height / 2));
    }
}
