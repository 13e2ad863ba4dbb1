using System.Net.Http.Json;
using System.Text.Json;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
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

            // Clicked while extendTraces keeps adding points and rescaling the axis: the click reaches the page, and opens
            // the point that was under the pointer when pressed.
            await PressFirstPointWhileTheAxisRescalesAsync(page, "val_loss");
            try
            {
                await Expect(page.GetByTestId("checkpoint-panel")).ToBeVisibleAsync(new() { Timeout = 10_000 });
            }
            catch (PlaywrightException e)
            {
                throw new InvalidOperationException($"No checkpoint panel after the click. {await ClickLogAsync(page)}{Environment.NewLine}{session.Diagnostics()}", e);
            }

            var epoch = int.Parse(await page.GetByTestId("panel-epoch").InnerTextAsync(), System.Globalization.CultureInfo.InvariantCulture);
            if (epoch != 1)
            {
                // Which way it went wrong: the press resolved to another point, or the page had no usable checkpoint at
                // epoch 1 and opened the nearest (its notice says so).
                var notices = await page.Locator("p.notice").AllInnerTextsAsync();
                Assert.Fail($"The panel opened epoch {epoch}, not 1. {await ClickLogAsync(page)}; notice: {string.Join(" ", notices)}");
            }

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

    private static async Task<string> ClickLogAsync(IPage page) =>
        string.Join("; ", await page.EvaluateAsync<string[]>("() => window.clickLog ?? []"));

    /// <summary>
    /// Presses the trace's first point, holds the button while the live run rescales the axis until another point is
    /// nearest the spot pressed, then releases there. The point's drawn position is read and the press dispatched in one
    /// script, so no redraw can come between them; and the click must open the point that was under the pointer when it
    /// was pressed, which is what a person clicking during a live run expects (plotly.js alone resolves it at release).
    /// </summary>
    private static async Task PressFirstPointWhileTheAxisRescalesAsync(IPage page, string traceName)
    {
        // The chart hears clicks once its click module has loaded, after the plot is drawn.
        await page.Locator(".js-plotly-plot[data-clicks=ready]").WaitForAsync(new() { Timeout = 30_000 });
        var pressed = await page.EvaluateAsync<JsonElement>(
            """
            name => {
              const plot = document.querySelector('.js-plotly-plot');
              const index = plot.data.findIndex(t => t.name === name);
              const marker = plot.querySelectorAll('.scatterlayer .trace')[index]?.querySelector('.points path');
              if (!marker) return null;
              const box = marker.getBoundingClientRect();
              const clientX = box.left + box.width / 2, clientY = box.top + box.height / 2;
              const target = document.elementFromPoint(clientX, clientY);
              // For a failure's message: what plotly.js itself made of the click, and how far the axis moved.
              window.clickLog = [`pressed at ${clientX},${clientY}, x axis ${plot._fullLayout.xaxis.range}`];
              plot.on('plotly_click', d => window.clickLog.push(`plotly_click: ${d.points.map(p => `trace ${p.curveNumber} x ${p.x}`).join(', ')}`));
              const init = { bubbles: true, cancelable: true, composed: true, view: window, clientX, clientY, button: 0, buttons: 1 };
              // What a mouse press sends, in the browser's order; plotly's drag layer starts its click on mousedown.
              target.dispatchEvent(new PointerEvent('pointerdown', { ...init, pointerId: 1, pointerType: 'mouse', isPrimary: true }));
              target.dispatchEvent(new MouseEvent('mousedown', init));
              return { index, clientX, clientY, target: target.getAttribute('class') ?? target.tagName };
            }
            """,
            traceName);
        if (pressed.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidOperationException($"The {traceName} trace has no marker on screen.");
        }

        Assert.Contains("nsewdrag", pressed.GetProperty("target").GetString(), StringComparison.Ordinal);
        var spot = new { index = pressed.GetProperty("index").GetInt32(), clientX = pressed.GetProperty("clientX").GetDouble(), clientY = pressed.GetProperty("clientY").GetDouble() };

        // The flake's condition, made certain: points arriving meanwhile rescale the axis until the spot pressed lies
        // nearer another drawn point of the trace along x, which is how the chart's unified hover picks a point.
        await page.WaitForFunctionAsync(
            """
            spot => {
              const plot = document.querySelector('.js-plotly-plot');
              const points = [...plot.querySelectorAll('.scatterlayer .trace')[spot.index].querySelectorAll('.points path')];
              const distance = p => {
                const box = p.getBoundingClientRect();
                return Math.abs(box.left + box.width / 2 - spot.clientX);
              };
              const nearest = points.reduce((best, p, i) => distance(p) < distance(points[best]) ? i : best, 0);
              return nearest !== 0;
            }
            """,
            spot,
            new() { Timeout = 60_000, PollingInterval = 50 });

        await page.EvaluateAsync(
            """
            spot => {
              // plotly covers the page while the button is down and listens for the release on the document.
              const target = document.elementFromPoint(spot.clientX, spot.clientY);
              const init = { bubbles: true, cancelable: true, composed: true, view: window, clientX: spot.clientX, clientY: spot.clientY, button: 0, buttons: 0 };
              window.clickLog.push(`released on ${target.className}, x axis ${document.querySelector('.js-plotly-plot')._fullLayout.xaxis.range}`);
              target.dispatchEvent(new PointerEvent('pointerup', { ...init, pointerId: 1, pointerType: 'mouse', isPrimary: true }));
              target.dispatchEvent(new MouseEvent('mouseup', init));
            }
            """,
            spot);
    }
}
