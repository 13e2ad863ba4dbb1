using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Dashboard.EndToEndTests;

/// <summary>
/// The distributed deployment in a real browser: two web instances (A and B) that only queue, on one PostgreSQL database
/// and one private Redis, and a <c>Dashboard.Worker</c> process that trains. A page on B hears of a run trained by the
/// worker only through the Redis relay. Outside CI, a machine without PostgreSQL or Redis skips it with the reason.
/// </summary>
public sealed class ScaleOutPageTests : IAsyncLifetime
{
    /// <summary>A queue no process serves until the test starts the worker, so the page is open before the first epoch.</summary>
    private const string Queue = "live_e2e";

    private const int Epochs = 30;

    private static readonly string[] MetricTraces = ["loss", "val_loss", "accuracy", "val_accuracy"];

    private readonly Dictionary<string, string> _settings = new()
    {
        ["Training:Device"] = "cpu",
        ["Training:EmbeddedWorker"] = "false",
    };

    private RedisServer? _redis;
    private DashboardServer? _a;
    private DashboardServer? _b;
    private DashboardWorker? _worker;
    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private string? _skip;

    public async Task InitializeAsync()
    {
        if ((PostgresServer.Unavailable ?? RedisServer.Unavailable) is { } reason)
        {
            _skip = InContinuousIntegration ? throw new InvalidOperationException($"{reason} CI=true is set, so this test must run here.") : reason;
            return;
        }

        _redis = await RedisServer.StartAsync();
        foreach (var (key, value) in await PostgresServer.SettingsAsync())
        {
            _settings[key] = value;
        }

        _settings["ConnectionStrings:Redis"] = _redis.ConnectionString;

        // One at a time: both migrate the same database on start.
        _a = await DashboardServer.StartAsync(_settings);
        _b = await DashboardServer.StartAsync(_settings);
        _playwright = await Playwright.CreateAsync();
        _browser = await BrowserFixture.LaunchChromiumAsync(_playwright);
    }

    [SkippableFact]
    public async Task RunPageOnWebB_RunTrainedByAWorker_ChartGrowsEpochByEpochAndEndsAtWhatAStores()
    {
        Skip.If(_skip is not null, _skip);
        var (a, b) = (_a!, _b!);
        var run = await a.CreateRunAsync(new
        {
            name = "e2e-scale-out",
            dataset = "mnist",
            model = "cnn",
            epochs = Epochs,
            batchSize = 64,
            learningRate = 0.001,
            optimizer = "adam",
            seed = 5,
            sampleLimit = 2000,
            queue = Queue,
        });

        await using var session = await BrowserSession.OpenAsync(_browser!, b);
        var page = await session.NewPageAsync();
        await page.GotoAsync($"runs/{run.Id}");
        await BrowserSession.WaitForInteractiveAsync(page);
        await Expect(NewRunPageTests.StatusBadge(page)).ToHaveAttributeAsync("data-status", "queued");

        // A full page load would draw from the database; the curve must grow over the open circuit.
        await page.EvaluateAsync("() => { window.__noReload = 1; }");

        _worker = await DashboardWorker.StartAsync("e2e-worker", a.DataDirectory, new Dictionary<string, string>(_settings)
        {
            ["Worker:Queues"] = Queue,
            ["Training:MaxConcurrentRuns"] = "1",
        });

        // What the page draws while the run still trains, as it changes, against what A stores meanwhile: three point
        // counts, one after another, before A has a few more epochs mean the epochs arrive as they end, not in one load at
        // the end. Measured against A's progress rather than the clock, so a busy machine only makes it slower.
        var seenWhileRunning = new List<int>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(150);
        while (seenWhileRunning.Count < 3)
        {
            var status = (await a.GetRunAsync(run.Id)).Status;
            var stored = (await a.GetMetricsAsync(run.Id)).Count;
            Assert.True(
                status is "queued" or "running" && stored <= 8 && DateTime.UtcNow < deadline,
                $"The chart on B did not grow epoch by epoch while the run trained (now {status}, {stored} epoch(s) stored on A): point counts seen "
                + $"[{string.Join(", ", seenWhileRunning)}].{Environment.NewLine}{session.Diagnostics()}");
            var points = (await BrowserSession.ReadPlotAsync(page)).FirstOrDefault(t => t.Name == "loss")?.X.Count ?? 0;
            if (points > 0 && (seenWhileRunning.Count == 0 || seenWhileRunning[^1] != points))
            {
                seenWhileRunning.Add(points);
            }

            await Task.Delay(100);
        }

        Assert.Equal(seenWhileRunning.Order(), seenWhileRunning);
        Assert.Contains($"Run {run.Id} trains on", _worker.Output, StringComparison.Ordinal);

        // Stopped through A (the worker hears it through the database): the end the page on B shows is what A stores.
        using (await a.StopRunAsync(run.Id))
        {
        }

        var ended = await a.WaitForRunAsync(run.Id, r => r.Status is "stopped" or "completed", "the run's end");
        await Expect(NewRunPageTests.StatusBadge(page)).ToHaveAttributeAsync("data-status", ended.Status, new() { Timeout = 20_000 });
        var metrics = await a.GetMetricsAsync(run.Id);
        Assert.True(metrics.Count >= seenWhileRunning[^1], $"A stores {metrics.Count} epoch(s), fewer than B drew.");
        var traces = await session.WaitForPlotAsync(page, metrics.Count, TimeSpan.FromSeconds(20), MetricTraces);
        Assert.Equal(metrics.Select(m => (double)m.Epoch), Trace(traces, "loss").X);
        Assert.Equal(metrics.Select(m => (double?)m.Loss), Trace(traces, "loss").Y);
        Assert.Equal(metrics.Select(m => (double?)m.ValLoss), Trace(traces, "val_loss").Y);
        Assert.Equal(metrics.Select(m => m.Accuracy), Trace(traces, "accuracy").Y);
        Assert.Equal(metrics.Select(m => m.ValAccuracy), Trace(traces, "val_accuracy").Y);
        Assert.Equal(1, await page.EvaluateAsync<int?>("() => window.__noReload"));
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }

        _playwright?.Dispose();
        foreach (var process in new IAsyncDisposable?[] { _worker, _b, _a, _redis })
        {
            if (process is not null)
            {
                await process.DisposeAsync();
            }
        }
    }

    private static bool InContinuousIntegration =>
        Environment.GetEnvironmentVariable("CI") is { } value && (value.Equals("true", StringComparison.OrdinalIgnoreCase) || value == "1");

    private static PlotTrace Trace(IReadOnlyList<PlotTrace> traces, string name) => traces.Single(t => t.Name == name);
}
