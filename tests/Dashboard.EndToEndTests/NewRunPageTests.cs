using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Dashboard.EndToEndTests;

/// <summary>The main path of the dashboard: start a run from the form and watch its curves grow live.</summary>
[Collection(BrowserCollection.Name)]
public sealed partial class NewRunPageTests(BrowserFixture fixture)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(150);
    private static readonly string[] MetricTraces = ["loss", "val_loss", "accuracy", "val_accuracy"];

    private readonly DashboardServer _server = fixture.Server;

    [Fact]
    public async Task StartButton_MnistMlpThreeEpochs_RunPageDrawsEveryEpochLiveWithoutReload()
    {
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = await session.NewPageAsync();
        await page.GotoAsync("/");
        await BrowserSession.WaitForInteractiveAsync(page);

        // Survives only if nothing from here on reloads the page: navigation and live updates all run over the circuit.
        await page.EvaluateAsync("() => { window.__noReload = 1; }");
        await page.Locator(".page-head").GetByRole(AriaRole.Link, new() { Name = "New run" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/runs/new$"));

        await Expect(page.GetByTestId("dataset")).ToHaveValueAsync("mnist");
        await Expect(page.GetByTestId("model")).ToHaveValueAsync("mlp");
        await SetNumberAsync(page, "epochs", "3");
        await page.GetByTestId("start").ClickAsync();

        // Client-side navigation (history.pushState): an assertion that polls the URL, because WaitForURL waits for a
        // navigation event and can miss one that lands while it subscribes.
        await Expect(page).ToHaveURLAsync(RunUrl());
        var runId = int.Parse(RunUrl().Match(page.Url).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        await session.WaitForPlotAsync(page, 3, RunTimeout, MetricTraces);
        await Expect(StatusBadge(page)).ToHaveAttributeAsync("data-status", "completed", new() { Timeout = (float)RunTimeout.TotalMilliseconds });
        await Expect(StatusBadge(page)).ToHaveTextAsync("completed");
        Assert.Equal(1, await page.EvaluateAsync<int?>("() => window.__noReload"));
        var traces = await session.WaitForPlotAsync(page, t => BrowserSession.CheckpointMarkers(t).Length >= 3, RunTimeout, "a marker per checkpoint");

        // The chart shows exactly what the API stores, epoch by epoch.
        var metrics = await _server.GetMetricsAsync(runId);
        var run = await _server.GetRunAsync(runId);
        Assert.Equal(("mnist", "mlp", 3, "completed"), (run.Dataset, run.Model, run.Epochs, run.Status));
        Assert.All(MetricTraces, name => Assert.Equal([1d, 2d, 3d], Trace(traces, name).X));
        Assert.Equal(metrics.Select(m => (double?)m.Loss), Trace(traces, "loss").Y);
        Assert.Equal(metrics.Select(m => (double?)m.ValLoss), Trace(traces, "val_loss").Y);
        Assert.Equal(metrics.Select(m => m.Accuracy), Trace(traces, "accuracy").Y);
        Assert.Equal(metrics.Select(m => m.ValAccuracy), Trace(traces, "val_accuracy").Y);
        Assert.Equal([1d, 2d, 3d], BrowserSession.CheckpointMarkers(traces));
        var checkpoints = await _server.GetCheckpointsAsync(runId);
        Assert.All(checkpoints, c => Assert.Equal([(double)c.Epoch], Trace(traces, $"checkpoint: {c.Kind}").X.Where(x => x == c.Epoch)));

        // A page opened afterwards draws the same points from the stored history.
        var second = await session.NewPageAsync();
        await second.GotoAsync(page.Url);
        var secondTraces = await session.WaitForPlotAsync(second, t => BrowserSession.CheckpointMarkers(t).Length >= 3 && t.Count(m => MetricTraces.Contains(m.Name) && m.X.Count >= 3) == 4, RunTimeout, "the same curves and markers");
        Assert.Equal(traces.Select(t => t.ToString()), secondTraces.Select(t => t.ToString()));
        await Expect(StatusBadge(second)).ToHaveAttributeAsync("data-status", "completed");
    }

    [Fact]
    public async Task StartButton_EpochsZero_ShowsValidationMessageAndStaysOnForm()
    {
        var before = await RunIdsAsync();
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = await session.NewPageAsync();
        await page.GotoAsync("runs/new");
        await BrowserSession.WaitForInteractiveAsync(page);
        var epochs = page.GetByTestId("epochs");

        await SetNumberAsync(page, "epochs", "0");
        await page.GetByTestId("start").ClickAsync();

        // The input's min="1" lets the browser refuse the form itself, with its own message.
        Assert.EndsWith("/runs/new", page.Url, StringComparison.Ordinal);
        Assert.False(await epochs.EvaluateAsync<bool>("e => e.validity.valid"));
        Assert.NotEmpty(await epochs.EvaluateAsync<string>("e => e.validationMessage"));

        // Without the browser's check (novalidate), the server's rule answers, under the field.
        await page.Locator("form[data-testid=new-run-form]").EvaluateAsync("f => { f.noValidate = true; }");
        await page.GetByTestId("start").ClickAsync();

        await Expect(FieldMessage(page, "epochs")).ToHaveTextAsync("Epochs must be between 1 and 10,000.");
        await Expect(epochs).ToHaveClassAsync(new Regex(@"\binvalid\b"));
        Assert.EndsWith("/runs/new", page.Url, StringComparison.Ordinal);
        Assert.Equal(before, await RunIdsAsync());
    }

    [Fact]
    public async Task StartButton_LearningRateZero_ShowsServerValidationMessageAndStaysOnForm()
    {
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = await session.NewPageAsync();
        await page.GotoAsync("runs/new");
        await BrowserSession.WaitForInteractiveAsync(page);

        // No min attribute on the learning rate: the browser submits, and the app's own validation must answer.
        await SetNumberAsync(page, "learning-rate", "0");
        await page.GetByTestId("start").ClickAsync();

        await Expect(FieldMessage(page, "learning-rate")).ToContainTextAsync("The learning rate must be");
        await Expect(page.Locator("ul.validation-errors")).ToContainTextAsync("The learning rate must be");
        Assert.EndsWith("/runs/new", page.Url, StringComparison.Ordinal);
    }

    private async Task<List<int>> RunIdsAsync() =>
        [.. (await _server.Client.GetFromJsonAsync<List<RunDto>>("api/runs", DashboardServer.Json) ?? []).Select(r => r.Id)];

    internal static ILocator StatusBadge(IPage page) => page.Locator(".page-head [data-status]");

    /// <summary>
    /// Types a number and leaves the field, then waits until Blazor has taken the value (it marks the input "modified"):
    /// a value typed before the circuit bound the input would otherwise be lost silently.
    /// </summary>
    internal static async Task SetNumberAsync(IPage page, string testId, string value)
    {
        var input = page.GetByTestId(testId);
        await input.FillAsync(value);
        await input.PressAsync("Tab");
        await Expect(input).ToHaveClassAsync(new Regex(@"\bmodified\b"));
        await Expect(input).ToHaveValueAsync(value);
    }

    /// <summary>The message shown under one field (the summary at the top repeats it).</summary>
    private static ILocator FieldMessage(IPage page, string testId) => page.Locator($"label:has([data-testid={testId}]) .validation-message");

    private static PlotTrace Trace(IReadOnlyList<PlotTrace> traces, string name) => Assert.Single(traces, t => t.Name == name);

    [GeneratedRegex(@"/runs/(\d+)$")]
    private static partial Regex RunUrl();
}
