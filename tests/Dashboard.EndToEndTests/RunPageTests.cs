using System.Globalization;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using static Microsoft.Playwright.Assertions;

namespace Dashboard.EndToEndTests;

[Collection(BrowserCollection.Name)]
public sealed class RunPageTests(BrowserFixture fixture)
{
    private readonly DashboardServer _server = fixture.Server;

    [Fact]
    public async Task StopButton_LongCnnRun_BadgeTurnsStoppedAndInterruptCheckpointIsKept()
    {
        var run = await _server.CreateRunAsync(new { name = "e2e-stop", dataset = "mnist", model = "cnn", epochs = 30 });
        try
        {
            await using var session = await BrowserSession.OpenAsync(fixture);
            var page = await session.NewPageAsync();
            await page.GotoAsync($"runs/{run.Id}");
            await BrowserSession.WaitForInteractiveAsync(page);
            var badge = NewRunPageTests.StatusBadge(page);
            await Expect(badge).ToHaveAttributeAsync("data-status", "running", new() { Timeout = 90_000 });

            await page.GetByTestId("stop").ClickAsync();

            await Expect(badge).ToHaveAttributeAsync("data-status", "stopped", new() { Timeout = 60_000 });
            await Expect(badge).ToHaveTextAsync("stopped");
            await Expect(page.GetByTestId("stop")).ToHaveCountAsync(0);
        }
        finally
        {
            await _server.StopRunAsync(run.Id);
        }

        var stopped = await _server.GetRunAsync(run.Id);
        Assert.Equal("stopped", stopped.Status);
        Assert.InRange(stopped.CurrentEpoch, 0, 29);
        var last = (await _server.GetCheckpointsAsync(run.Id))[^1];
        Assert.Equal(("interrupt", "durable"), (last.Kind, last.Status));
    }

    [Fact]
    public async Task RunPage_EpochsArriveWhilePlotlyIsStillLoading_DrawsEachEpochOnce()
    {
        // The server has one training slot: the run under test waits behind this one until the page is open.
        var holder = await _server.CreateRunAsync(new { name = "e2e-plotly-holder", dataset = "mnist", model = "mlp", epochs = 1000 });
        var run = await _server.CreateRunAsync(new { name = "e2e-plotly-late", dataset = "spirals", model = "mlp", epochs = 5 });
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = await session.NewPageAsync();
        var release = new TaskCompletionSource();
        try
        {
            // Holds plotly.js back: the chart component is on the page and receiving epochs while the script that draws
            // it is still loading, as on a slow connection.
            await page.RouteAsync("**/plotly-*.min.js", async route =>
            {
                await release.Task;
                await route.ContinueAsync();
            });
            await page.GotoAsync($"runs/{run.Id}");
            await BrowserSession.WaitForInteractiveAsync(page);
            await Expect(page.GetByTestId("training-chart")).ToBeAttachedAsync();
            await _server.WaitForRunStatusAsync(holder.Id, "running");
            await _server.StopRunAsync(holder.Id);
            await Expect(NewRunPageTests.StatusBadge(page)).ToHaveAttributeAsync("data-status", "completed", new() { Timeout = 90_000 });

            // The chart flushes buffered points every 200 ms; give it a few rounds while the script is still held back.
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        finally
        {
            release.TrySetResult();
            await _server.StopRunAsync(holder.Id);
        }

        await session.WaitForPlotAsync(page, 5, TimeSpan.FromSeconds(60), "loss", "val_loss", "accuracy", "val_accuracy");
        await session.WaitForPlotAsync(page, t => BrowserSession.CheckpointMarkers(t).Length >= 5, TimeSpan.FromSeconds(60), "a marker per epoch's checkpoint");

        // Points sent twice would show up right behind the first plot; nothing else can add points to a finished run.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var traces = await BrowserSession.ReadPlotAsync(page);
        Assert.All(
            traces.Where(t => t.Name is "loss" or "val_loss" or "accuracy" or "val_accuracy"),
            t => Assert.True(t.X.SequenceEqual([1d, 2d, 3d, 4d, 5d]), $"Each epoch once, in order: {t}"));
        Assert.Equal([1d, 2d, 3d, 4d, 5d], BrowserSession.CheckpointMarkers(traces));
    }

    [Fact]
    public async Task RunList_RunCreatedWhileOpen_ShowsItsRowLiveWithStatusAndBestValLoss()
    {
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = await session.NewPageAsync();
        await page.GotoAsync("/");
        await BrowserSession.WaitForInteractiveAsync(page);

        var run = await _server.CreateRunAsync(new { name = "e2e-list", dataset = "spirals", model = "mlp", epochs = 3, learningRate = 0.01 });
        var done = await _server.WaitForRunStatusAsync(run.Id, "completed");

        var row = page.Locator($"tr[data-run-id='{run.Id}']");
        await Expect(row.Locator("[data-status]")).ToHaveAttributeAsync("data-status", "completed");
        await Expect(row).ToContainTextAsync("e2e-list");
        await Expect(row).ToContainTextAsync("3 / 3");
        Assert.NotNull(done.BestValLoss);
        var best = string.Create(CultureInfo.InvariantCulture, $"{done.BestValLoss:F4} (epoch {done.BestValLossEpoch})");
        await Expect(row).ToContainTextAsync(best);

        // A fresh load of the list shows the same row.
        await page.ReloadAsync();
        await Expect(page.Locator($"tr[data-run-id='{run.Id}']")).ToContainTextAsync(best);
    }
}
