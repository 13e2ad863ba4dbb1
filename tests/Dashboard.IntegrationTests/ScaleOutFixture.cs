using Dashboard.ServerProcess;
using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary>
/// Two web instances of the real server (A and B) on one PostgreSQL database and one private Redis, as a distributed
/// deployment runs them. Each also trains (its embedded worker), named web-a and web-b; a run created through A trains
/// on A. Outside CI, a machine without PostgreSQL or Redis skips these tests with the reason; under CI=true it fails.
/// </summary>
public class ScaleOutFixture : IAsyncLifetime
{
    public const string WorkerA = "web-a";
    public const string WorkerB = "web-b";

    private DashboardServer? _a;
    private DashboardServer? _b;

    public DashboardServer A => _a ?? throw new InvalidOperationException("The fixture has not started its servers.");

    public DashboardServer B => _b ?? throw new InvalidOperationException("The fixture has not started its servers.");

    public RedisServer Redis { get; private set; } = null!;

    public string? SkipReason { get; private set; }

    /// <summary>Settings both instances share, beside the database and Redis.</summary>
    protected virtual IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["Training:MaxConcurrentRuns"] = "1",
        ["Training:Device"] = "cpu",
        ["Training:TorchThreads"] = "1",
    };

    /// <summary>True to give B the data folder of A (the shared folder of a real deployment: checkpoints, the session key).</summary>
    protected virtual bool ShareDataFolder => false;

    public async Task InitializeAsync()
    {
        if ((PostgresServer.Unavailable ?? RedisServer.Unavailable) is { } reason)
        {
            if (SmallVolume.InContinuousIntegration)
            {
                throw new InvalidOperationException($"{reason} CI=true is set, so the scale-out tests must run here.");
            }

            SkipReason = reason;
            return;
        }

        Redis = await RedisServer.StartAsync();
        var shared = new Dictionary<string, string>(Settings.Concat(await PostgresServer.SettingsAsync()))
        {
            ["ConnectionStrings:Redis"] = Redis.ConnectionString,
        };

        // Each its own home folder, as on two machines: otherwise both would find ASP.NET's default key ring in the same
        // ~/.aspnet folder, and a key ring shared by accident would pass for one shared through Redis.
        // One at a time: both migrate and reconcile the same database on start.
        _a = await DashboardServer.StartAsync(new Dictionary<string, string>(shared) { ["Worker:Name"] = WorkerA, ["HOME"] = Home("a") });
        var b = new Dictionary<string, string>(shared) { ["Worker:Name"] = WorkerB, ["HOME"] = Home("b") };
        if (ShareDataFolder)
        {
            b["Storage:DataDirectory"] = _a.DataDirectory;
        }

        _b = await DashboardServer.StartAsync(b);
    }

    public void SkipWhenUnavailable() => Skip.If(SkipReason is not null, SkipReason);

    private readonly List<string> _homes = [];

    private string Home(string instance)
    {
        var home = Path.Combine(Path.GetTempPath(), "dashboard-tests", $"home-{instance}-{Guid.NewGuid():N}"[..20]);
        Directory.CreateDirectory(home);
        _homes.Add(home);
        return home;
    }

    public async Task DisposeAsync()
    {
        if (_b is not null)
        {
            await _b.DisposeAsync();
        }

        if (_a is not null)
        {
            await _a.DisposeAsync();
        }

        if (Redis is not null)
        {
            await Redis.DisposeAsync();
        }

        foreach (var home in _homes.Where(Directory.Exists))
        {
            Directory.Delete(home, recursive: true);
        }
    }
}

/// <summary>The pair with an access token and one data folder: for signing in on one instance and using the cookie on the other.</summary>
public sealed class SecuredScaleOutFixture : ScaleOutFixture
{
    public const string Token = "scale-out-access-token-0123456789";

    protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["Training:Device"] = "cpu",
        ["Security:AccessToken"] = Token,
    };

    protected override bool ShareDataFolder => true;
}
