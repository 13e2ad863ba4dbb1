using Bunit;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Models;
using Dashboard.Engine.Policies;
using Dashboard.Runs.Events;
using Dashboard.Runs.Execution;
using Dashboard.Web.Components.Controls;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Support;

/// <summary>
/// A bUnit context with the dashboard's services on a fresh SQLite database and the Plotly module stood in for. xunit
/// creates one per test, so no test sees another's rows or JS calls.
/// </summary>
public abstract class DashboardTestContext : BunitContext, IAsyncLifetime
{
    private TestDatabase? _database;

    protected DashboardTestContext()
    {
        // bUnit's one second is tight for events that cross the broadcaster's queues on a busy build machine.
        DefaultWaitTimeout = TimeSpan.FromSeconds(5);
        Plotly = PlotlyInterop.Setup(JSInterop);
        ChartFrames = JSInterop.SetupModule(ChartFrame.Module);
        ChartFrames.SetupVoid("observe", _ => true).SetVoidResult();
        ChartFrames.SetupVoid("unobserve", _ => true).SetVoidResult();
    }

    protected PlotlyInterop Plotly { get; }

    /// <summary>The module that keeps each chart as wide as its frame; a test that needs a width sets up <c>width</c> on it.</summary>
    protected BunitJSModuleInterop ChartFrames { get; }

    protected TestDatabase Database => _database ?? throw new InvalidOperationException("The database is created in InitializeAsync.");

    protected TrainingEventBroadcaster Broadcaster => Services.GetRequiredService<TrainingEventBroadcaster>();

    protected RunQueue Queue => Services.GetRequiredService<RunQueue>();

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        Services.AddDashboardServices(_database);
    }

    /// <summary>
    /// Gives the seeded rows real, intact checkpoint folders: a resume or fine-tune verifies its checkpoint's hashes before it is
    /// queued. The tensors are placeholders, since nothing here trains.
    /// </summary>
    protected async Task WriteCheckpointFilesAsync(int runId)
    {
        var store = Services.GetRequiredService<CheckpointStore>();
        var spec = new ModelSpec { Architecture = "mlp", InputShape = [2], ClassCount = 2, HiddenSizes = [4] };
        await using var db = Database.CreateContext();
        foreach (var row in await db.Checkpoints.Where(c => c.RunId == runId).ToListAsync())
        {
            var snapshot = new CheckpointSnapshot(
                row.Kind,
                new TrainingPosition(row.Epoch, row.Step, 0, 0, 0, 0, 0),
                new Dictionary<string, double>(),
                new TrainingConfig(),
                spec,
                Weights: [1],
                OptimizerState: [2],
                TorchRngState: [3],
                new TrainerState(null, new ScheduleState(0.01, null, 0, 0), null));
            var written = store.Write(CheckpointStore.RunFolder(runId), $"epoch{row.Epoch}-{row.Kind}", snapshot);
            (row.Path, row.Sha256, row.SizeBytes) = (written.RelativePath, written.Sha256, written.SizeBytes);
        }

        await db.SaveChangesAsync();
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        // Components first: the chart's flush timer and the pages' event subscriptions end with them.
        await DisposeAsync();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
