using Dashboard.Data;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using static Microsoft.Playwright.Assertions;

namespace Dashboard.EndToEndTests;

/// <summary>The run page's per-step view in a real browser: plotly.js's own zoom events reach the server and back.</summary>
[Collection(BrowserCollection.Name)]
public sealed class StepChartTests(BrowserFixture fixture)
{
    private const int Steps = 50_000;

    private readonly DashboardServer _server = fixture.Server;

    [Fact]
    public async Task PerStepView_ZoomAndDoubleClick_DrawsBucketsThenEveryStepInRangeThenBucketsAgain()
    {
        var runId = await _server.SeedRunWithStepsAsync("e2e-steps", [.. Enumerable.Range(1, Steps).Select(s => new StepRow(s, 1 + (s / 1000), Loss(s)))]);
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = await session.NewPageAsync();
        await page.GotoAsync($"runs/{runId}");
        await BrowserSession.WaitForInteractiveAsync(page);

        await page.GetByTestId("view-per-step").ClickAsync();

        // A bucket per pixel of the chart, far fewer than the steps, with the spike kept in the band's upper edge.
        await Expect(page.GetByTestId("step-summary")).ToContainTextAsync("50,000 steps", new() { Timeout = 60_000 });
        var whole = await session.WaitForPlotAsync(page, 10, BrowserSession.PageTimeout, "loss");
        var buckets = whole.Single(t => t.Name == "loss").X;
        Assert.InRange(buckets.Count, 50, 5000);
        Assert.Contains(25.0, whole.Single(t => t.Name.StartsWith("loss range", StringComparison.Ordinal)).Y);

        // What a drag-zoom does in plotly.js: a relayout of the x range, which plotly reports through plotly_relayout.
        var chart = $"#run-{runId}-steps";
        await page.EvaluateAsync($"() => Plotly.relayout(document.querySelector('{chart}'), {{ 'xaxis.range': [1000.2, 1199.8] }})");

        var zoomed = await Poll.UntilAsync(
            _ => BrowserSession.ReadPlotAsync(page),
            traces => traces.FirstOrDefault(t => t.Name == "loss")?.X is [1000, .., 1200],
            BrowserSession.PageTimeout,
            "the zoomed range's steps",
            diagnostics: session.Diagnostics);
        var loss = zoomed.Single(t => t.Name == "loss");
        Assert.Equal(Enumerable.Range(1000, 201).Select(s => (double)s), loss.X);
        Assert.Equal(Enumerable.Range(1000, 201).Select(s => (double?)Loss(s)), loss.Y);

        // A double-click autoranges the axes; the whole run comes back in buckets.
        await page.EvaluateAsync($"() => Plotly.relayout(document.querySelector('{chart}'), {{ 'xaxis.autorange': true }})");

        var again = await Poll.UntilAsync(
            _ => BrowserSession.ReadPlotAsync(page),
            traces => traces.FirstOrDefault(t => t.Name == "loss")?.X.Count == buckets.Count,
            BrowserSession.PageTimeout,
            "the whole run's buckets again",
            diagnostics: session.Diagnostics);
        Assert.Equal(buckets, again.Single(t => t.Name == "loss").X);
    }

    [Fact]
    public async Task PerStepView_Branch_DrawsTheParentsStepsUpToTheForkBeforeItsOwn()
    {
        // The parent trained on to step 600; the branch resumed from its step 400.
        const int Fork = 400;
        var parentId = await _server.SeedRunWithStepsAsync("e2e-parent", [.. Enumerable.Range(1, 600).Select(s => new StepRow(s, 1, Loss(s)))]);
        var branchId = await _server.SeedRunWithStepsAsync("e2e-branch", [.. Enumerable.Range(Fork + 1, 200).Select(s => new StepRow(s, 1, Loss(s) / 2))], branchOf: (parentId, Fork));
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = await session.NewPageAsync();
        await page.GotoAsync($"runs/{branchId}");
        await BrowserSession.WaitForInteractiveAsync(page);

        await page.GetByTestId("view-per-step").ClickAsync();

        var parentTrace = $"run #{parentId} loss";
        var traces = await session.WaitForPlotAsync(page, 1, BrowserSession.PageTimeout, "loss", parentTrace);
        var parent = traces.Single(t => t.Name == parentTrace).X;
        Assert.Equal(1, parent[0]);
        Assert.All(parent, step => Assert.True(step <= Fork, $"step {step} of the parent is past the fork"));
        Assert.Equal(Fork + 1, traces.Single(t => t.Name == "loss").X[0]);
        await Expect(page.GetByTestId("chart-hint")).ToContainTextAsync($"Up to the fork at step {Fork}, the lighter curve is from run #{parentId}.");
    }

    private static double Loss(int step) => step == 33_333 ? 25 : (2.0 / (1 + (step / 5000.0))) + (0.001 * (step % 13));
}
