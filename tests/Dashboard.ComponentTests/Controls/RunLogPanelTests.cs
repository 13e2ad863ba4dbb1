using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Runs.Logging;
using Dashboard.Web.Components.Controls;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Controls;

public sealed class RunLogPanelTests : DashboardTestContext
{
    [Fact]
    public async Task Render_LineLoggedWhileShown_AppearsLiveAtTheBottomWithAnErrorInAPre()
    {
        var run = await Database.AddRunAsync("live-log");
        var log = Services.GetRequiredService<RunLog>();
        log.Info(run.Id, "stored before the page opened");
        await log.FlushAsync();

        var cut = Render<RunLogPanel>(parameters => parameters.Add(p => p.RunId, run.Id));
        cut.WaitForAssertion(() => Assert.Single(cut.FindAll("[data-testid=run-log-line]")));

        // Through the real writer, the broadcaster and the panel's throttle: nothing here pokes the component.
        log.Error(run.Id, "Failed: boom\n   at Somewhere.Deep()");
        cut.WaitForAssertion(() =>
        {
            var lines = cut.FindAll("[data-testid=run-log-line]");
            Assert.Equal(2, lines.Count);
            Assert.Equal("error", lines[1].GetAttribute("data-level"));
            Assert.Equal("Failed: boom\n   at Somewhere.Deep()", lines[1].QuerySelector("pre.log-message")!.TextContent);
        });
        Assert.Contains("2 line(s), 0 warning(s), 1 error(s)", cut.Find("[data-testid=run-log-count]").TextContent, StringComparison.Ordinal);
        Assert.Equal($"/api/runs/{run.Id}/log?format=jsonl", cut.Find("[data-testid=run-log-download]").GetAttribute("href"));
    }
}
