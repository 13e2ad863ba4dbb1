using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary>One dashboard process shared by every test of a class (or collection): starting one costs a few seconds.</summary>
public class DashboardServerFixture : IAsyncLifetime
{
    private DashboardServer? _server;

    public DashboardServer Server => _server ?? throw new InvalidOperationException("The fixture has not started its server.");

    /// <summary>Configuration keys for the child process; one training slot by default, so queueing is predictable.</summary>
    protected virtual IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["Training:MaxConcurrentRuns"] = "1",
        ["Training:Device"] = "cpu",
    };

    /// <summary>True for a fixture whose server keeps its database on PostgreSQL (a fresh database of the shared cluster).</summary>
    protected virtual bool OnPostgres => false;

    /// <summary>
    /// Why the server was not started (no PostgreSQL here), or null when it was. Set only outside CI: under CI=true a
    /// missing PostgreSQL fails the fixture, so a machine that cannot run these tests is noticed.
    /// </summary>
    public string? SkipReason { get; private set; }

    public virtual async Task InitializeAsync()
    {
        var settings = Settings;
        if (OnPostgres)
        {
            if (PostgresServer.Unavailable is { } reason)
            {
                if (SmallVolume.InContinuousIntegration)
                {
                    throw new InvalidOperationException($"{reason} CI=true is set, so the PostgreSQL tests must run here.");
                }

                SkipReason = reason;
                return;
            }

            settings = new Dictionary<string, string>(Settings.Concat(await PostgresServer.SettingsAsync()));
        }

        _server = await DashboardServer.StartAsync(settings);
    }

    /// <summary>Ends a test of a PostgreSQL class as skipped, with the reason, when the fixture could not start its server.</summary>
    public void SkipWhenUnavailable() => Skip.If(SkipReason is not null, SkipReason);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>The validation and health tests only send requests that never train, so they share one server.</summary>
[CollectionDefinition(Name)]
public sealed class RequestOnlyCollection : ICollectionFixture<DashboardServerFixture>
{
    public const string Name = "Request-only server";
}

/// <summary>
/// One server with one small finished run, shared by the classes that exercise the checkpoint routes. Tests read its
/// checkpoints and may branch from them, but never delete, pin or damage them: those tests train runs of their own.
/// </summary>
public class TrainedServerFixture : DashboardServerFixture
{
    public const int Epochs = 3;

    private RunDto? _run;
    private IReadOnlyList<CheckpointDto>? _checkpoints;

    /// <summary>Spirals, an MLP, <see cref="Epochs"/> epochs, one checkpoint per epoch.</summary>
    public RunDto Run => _run ?? throw new InvalidOperationException("The fixture has not trained its run.");

    /// <summary>The run's checkpoints, one per epoch, oldest first.</summary>
    public IReadOnlyList<CheckpointDto> Checkpoints => _checkpoints ?? throw new InvalidOperationException("The fixture has not trained its run.");

    /// <summary>The epoch-1 checkpoint: not the newest, so resuming it starts a branch.</summary>
    public CheckpointDto First => Checkpoints[0];

    /// <summary>The newest checkpoint (epoch <see cref="Epochs"/>).</summary>
    public CheckpointDto Last => Checkpoints[^1];

    public override async Task InitializeAsync()
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        await base.InitializeAsync();
        if (SkipReason is not null)
        {
            return;
        }

        var run = await Server.CreateRunAsync(RunBodies.Spirals(Epochs, "trained-fixture"));
        _run = await Server.WaitForRunStatusAsync(run.Id, "completed");
        _checkpoints = await Server.GetCheckpointsAsync(run.Id);
        if (_checkpoints.Count != Epochs || _checkpoints.Any(c => c.Status != "durable"))
        {
            throw new InvalidOperationException($"Expected {Epochs} durable checkpoints, got [{string.Join(", ", _checkpoints.Select(c => $"{c.Epoch}:{c.Status}"))}].");
        }

        // The start-up audit lists the durable checkpoints once, a few seconds after start. Tests that damage files on disk
        // must find the damage themselves, so their checkpoints are made only after that list was taken.
        var auditListed = CheckpointAuditService.StartDelay + TimeSpan.FromSeconds(1);
        if (started.Elapsed < auditListed)
        {
            await Task.Delay(auditListed - started.Elapsed);
        }
    }
}

/// <summary>The classes that need a trained checkpoint share one server and run one after the other.</summary>
[CollectionDefinition(Name)]
public sealed class TrainedServerCollection : ICollectionFixture<TrainedServerFixture>
{
    public const string Name = "Server with a trained run";
}

/// <summary>A <see cref="DashboardServerFixture"/> whose server keeps its database on PostgreSQL.</summary>
public sealed class PostgresServerFixture : DashboardServerFixture
{
    protected override bool OnPostgres => true;
}

/// <summary>A <see cref="TrainedServerFixture"/> whose server keeps its database on PostgreSQL.</summary>
public sealed class PostgresTrainedServerFixture : TrainedServerFixture
{
    protected override bool OnPostgres => true;
}

/// <summary>The checkpoint route tests on PostgreSQL share one trained server, like their SQLite counterparts.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresTrainedServerCollection : ICollectionFixture<PostgresTrainedServerFixture>
{
    public const string Name = "PostgreSQL server with a trained run";
}

/// <summary>PostgreSQL settings for a test that starts servers of its own.</summary>
public static class PostgresTestSettings
{
    /// <summary>
    /// <see cref="PostgresServer.SettingsAsync"/> (a fresh database of the shared cluster), or the test ends: skipped with
    /// the reason where PostgreSQL is not installed, failed under CI=true. Callers are [SkippableFact]s.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, string>> RequireAsync()
    {
        RequireBinaries();
        return await PostgresServer.SettingsAsync();
    }

    /// <summary>Ends the test as <see cref="RequireAsync"/> does when no PostgreSQL can be started here.</summary>
    public static void RequireBinaries()
    {
        if (PostgresServer.Unavailable is { } reason)
        {
            if (SmallVolume.InContinuousIntegration)
            {
                throw new InvalidOperationException($"{reason} CI=true is set, so the PostgreSQL tests must run here.");
            }

            throw new SkipException(reason);
        }
    }
}
