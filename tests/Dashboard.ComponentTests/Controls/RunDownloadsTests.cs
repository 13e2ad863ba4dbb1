using Bunit;
using Dashboard.Web.Components.Controls;

namespace Dashboard.ComponentTests.Controls;

public sealed class RunDownloadsTests : BunitContext
{
    [Fact]
    public void Render_Run12_LinksEachDownloadRouteOfThatRunAsAFile()
    {
        var cut = Render<RunDownloads>(parameters => parameters.Add(d => d.RunId, 12));

        var links = cut.FindAll("a");
        Assert.Equal(
            ["api/runs/12/metrics?format=csv", "api/runs/12/metrics?format=json", "api/runs/12/steps?format=csv", "api/runs/12/tensorboard"],
            links.Select(a => a.GetAttribute("href")));
        Assert.All(links, a => Assert.True(a.HasAttribute("download"), $"{a.OuterHtml} would open in the page rather than save"));
    }
}
