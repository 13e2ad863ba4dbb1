using Bunit;
using Dashboard.Web.Services;
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
    }

    protected PlotlyInterop Plotly { get; }

    protected TestDatabase Database => _database ?? throw new InvalidOperationException("The database is created in InitializeAsync.");

    protected TrainingEventBroadcaster Broadcaster => Services.GetRequiredService<TrainingEventBroadcaster>();

    protected RunQueue Queue => Services.GetRequiredService<RunQueue>();

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        Services.AddDashboardServices(_database);
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
