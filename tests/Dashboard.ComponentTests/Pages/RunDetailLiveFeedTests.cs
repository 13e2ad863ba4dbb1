using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Data.Entities;
using Dashboard.Runs.Events;
using Dashboard.Web.Components.Pages;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Pages;

/// <summary>The run page while the feed from other processes is down: it says so, and catches up from the database after.</summary>
public sealed class RunDetailLiveFeedTests : DashboardTestContext
{
    [Fact]
    public async Task LiveFeedChanged_DownThenBack_SaysReconnectingThenShowsEpochsStoredMeanwhile()
    {
        var run = await Database.AddRunAsync("elsewhere", RunStatus.Running, epochs: 5);
        await Database.AddEpochAsync(run.Id, 1, 0.9, 1.0, 0.6, 0.55);
        var feed = Services.GetRequiredService<LiveFeedState>();
        var cut = Render<RunDetail>(p => p.Add(c => c.RunId, run.Id));
        cut.WaitForAssertion(() => Assert.Equal("1 / 5", cut.Find("[data-testid=current-epoch]").TextContent));
        Assert.Empty(cut.FindAll("[data-testid=live-reconnecting]"));

        feed.Connected = false;
        Broadcaster.PublishRelayed(new LiveFeedChangedEvent(false));
        cut.WaitForAssertion(() => Assert.Contains("reconnecting", cut.Find("[data-testid=live-reconnecting]").TextContent));

        // Trained on another worker while the feed was down: stored, but no event reached this process.
        await Database.AddEpochAsync(run.Id, 2, 0.5, 0.6, 0.8, 0.75);
        await Database.AddEpochAsync(run.Id, 3, 0.4, 0.5, 0.85, 0.8);
        feed.Connected = true;
        Broadcaster.PublishRelayed(new LiveFeedChangedEvent(true));

        cut.WaitForAssertion(() => Assert.Equal("3 / 5", cut.Find("[data-testid=current-epoch]").TextContent));
        Assert.Empty(cut.FindAll("[data-testid=live-reconnecting]"));
    }
}
