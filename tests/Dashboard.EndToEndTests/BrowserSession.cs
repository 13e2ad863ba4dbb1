using System.Collections.Concurrent;
using System.Text.Json;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.Playwright;

namespace Dashboard.EndToEndTests;

/// <summary>A trace of the run page's Plotly chart as the browser holds it.</summary>
public sealed record PlotTrace(string Name, IReadOnlyList<double> X, IReadOnlyList<double?> Y)
{
    public override string ToString() => $"{Name}: {X.Count} point(s) [{string.Join(", ", X.Zip(Y, (x, y) => $"{x}:{y}"))}]";
}

/// <summary>
/// A browser context on the dashboard that remembers what the pages logged, so a failed wait can say what the browser
/// saw as well as what the server did.
/// </summary>
public sealed class BrowserSession : IAsyncDisposable
{
    public static readonly TimeSpan PageTimeout = TimeSpan.FromSeconds(60);

    // Reads the chart straight from Plotly's graph div: what is drawn, not what the server meant to send.
    private const string ReadPlotScript = """
        () => {
            const plot = document.querySelector('.js-plotly-plot');
            if (!plot || !Array.isArray(plot.data)) return null;
            return plot.data.map(t => ({
                name: t.name ?? '',
                x: Array.from(t.x ?? [], Number),
                y: Array.from(t.y ?? [], v => Number.isFinite(v) ? v : null),
            }));
        }
        """;

    private readonly ConcurrentQueue<string> _log = new();
    private readonly DashboardServer _server;

    private BrowserSession(IBrowserContext context, DashboardServer server)
    {
        Context = context;
        _server = server;
        Context.Page += (_, page) => Watch(page);
    }

    public IBrowserContext Context { get; }

    public static Task<BrowserSession> OpenAsync(BrowserFixture fixture) => OpenAsync(fixture.Browser, fixture.Server);

    /// <summary>A session on <paramref name="server"/>, for tests that start servers of their own (several instances).</summary>
    public static async Task<BrowserSession> OpenAsync(IBrowser browser, DashboardServer server)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = server.BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 1000 },
        });
        context.SetDefaultTimeout((float)PageTimeout.TotalMilliseconds);
        return new BrowserSession(context, server);
    }

    public Task<IPage> NewPageAsync() => Context.NewPageAsync();

    /// <summary>
    /// Waits until Blazor has rendered the page interactively over its circuit. A prerendered page looks the same but
    /// ignores clicks, and its form would post back with a full page load.
    /// </summary>
    public static async Task WaitForInteractiveAsync(IPage page) =>
        // The interactive renderer marks its logical elements with <!--!--> comments; prerendered HTML has none.
        await page.WaitForFunctionAsync("() => document.body.innerHTML.includes('<!--!-->')", null, new() { Timeout = (float)PageTimeout.TotalMilliseconds });

    public static async Task<IReadOnlyList<PlotTrace>> ReadPlotAsync(IPage page)
    {
        var result = await page.EvaluateAsync<JsonElement?>(ReadPlotScript);
        if (result is not { ValueKind: JsonValueKind.Array } traces)
        {
            return [];
        }

        return [.. traces.EnumerateArray().Select(t => new PlotTrace(
            t.GetProperty("name").GetString() ?? "",
            [.. t.GetProperty("x").EnumerateArray().Select(v => v.GetDouble())],
            [.. t.GetProperty("y").EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Number ? v.GetDouble() : (double?)null)]))];
    }

    /// <summary>
    /// Waits until every named trace of the chart holds at least <paramref name="points"/> points; callers assert the exact
    /// points, so a chart that draws too many fails at once rather than after the timeout.
    /// </summary>
    public Task<IReadOnlyList<PlotTrace>> WaitForPlotAsync(IPage page, int points, TimeSpan timeout, params string[] traceNames) =>
        Poll.UntilAsync(
            _ => ReadPlotAsync(page),
            traces => traceNames.All(name => traces.FirstOrDefault(t => t.Name == name)?.X.Count >= points),
            timeout,
            $"at least {points} point(s) in each of the traces {string.Join(", ", traceNames)} of {page.Url}",
            diagnostics: Diagnostics,
            interval: TimeSpan.FromMilliseconds(250));

    /// <summary>Waits until the chart's traces satisfy <paramref name="condition"/>, polled like <see cref="WaitForPlotAsync"/>.</summary>
    public Task<IReadOnlyList<PlotTrace>> WaitForPlotAsync(IPage page, Func<IReadOnlyList<PlotTrace>, bool> condition, TimeSpan timeout, string description) =>
        Poll.UntilAsync(
            _ => ReadPlotAsync(page),
            condition,
            timeout,
            $"{description} on {page.Url}",
            diagnostics: Diagnostics,
            interval: TimeSpan.FromMilliseconds(250));

    /// <summary>The epochs of every checkpoint marker, whatever its kind's trace ("checkpoint: best", …), in order.</summary>
    public static double[] CheckpointMarkers(IReadOnlyList<PlotTrace> traces) =>
        [.. traces.Where(t => t.Name.StartsWith("checkpoint: ", StringComparison.Ordinal)).SelectMany(t => t.X).Order()];

    /// <summary>The texts of the chart's annotations (the current best is labelled "best").</summary>
    public static async Task<string[]> ReadAnnotationsAsync(IPage page) =>
        await page.EvaluateAsync<string[]>("() => (document.querySelector('.js-plotly-plot')?.layout?.annotations ?? []).map(a => a.text)");

    /// <summary>The pages' console and errors, then the server's recent output.</summary>
    public string Diagnostics() =>
        $"Browser log:{Environment.NewLine}{string.Join(Environment.NewLine, _log.TakeLast(60))}{Environment.NewLine}Server output:{Environment.NewLine}{_server.OutputTail(6000)}";

    public async ValueTask DisposeAsync() => await Context.CloseAsync();

    private void Watch(IPage page)
    {
        page.Console += (_, message) => _log.Enqueue($"[{message.Type}] {message.Text} ({page.Url})");
        page.PageError += (_, error) => _log.Enqueue($"[pageerror] {error} ({page.Url})");
        page.RequestFailed += (_, request) => _log.Enqueue($"[requestfailed] {request.Url}: {request.Failure}");
    }
}
