using Dashboard.ServerProcess;
using Microsoft.Playwright;

namespace Dashboard.EndToEndTests;

/// <summary>
/// One dashboard and one headless Chromium for all browser tests: both take seconds to start. Each test opens its own
/// browser context, so cookies and pages never leak between tests.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    /// <summary>Debian's build; Playwright cannot download its own browsers here. Override with DASHBOARD_E2E_CHROMIUM.</summary>
    public const string DefaultChromium = "/usr/bin/chromium";

    private DashboardServer? _server;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public DashboardServer Server => _server ?? throw new InvalidOperationException("The fixture is not initialised.");

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The fixture is not initialised.");

    public static string ChromiumPath => Environment.GetEnvironmentVariable("DASHBOARD_E2E_CHROMIUM") is { Length: > 0 } path ? path : DefaultChromium;

    public async Task InitializeAsync()
    {
        // Before the server: a missing browser should not cost a server start.
        EnsureChromium();

        // One slot, as shipped: tests run one at a time and end their runs, and a test can line a run up behind another.
        _server = await DashboardServer.StartAsync(new Dictionary<string, string>
        {
            ["Training:MaxConcurrentRuns"] = "1",
            ["Training:Device"] = "cpu",
        });
        _playwright = await Playwright.CreateAsync();
        _browser = await LaunchChromiumAsync(_playwright);
    }

    /// <summary>The system's headless Chromium with the switches a container needs; every browser test starts it this way.</summary>
    public static async Task<IBrowser> LaunchChromiumAsync(IPlaywright playwright)
    {
        EnsureChromium();

        return await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args =
            [
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        });
    }

    private static void EnsureChromium()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException(
                $"Chromium was not found at {ChromiumPath}. The browser tests drive the system's Chromium because Playwright cannot "
                + "download its own here: install Debian's chromium: apt-get install chromium (or point DASHBOARD_E2E_CHROMIUM at a Chromium binary).");
        }
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }

        _playwright?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "Browser";
}
