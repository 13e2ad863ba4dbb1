using Bunit;
using Dashboard.Runs.Contracts;
using Dashboard.Web.Components.Controls;

namespace Dashboard.ComponentTests.Controls;

public sealed class RunProgressTests : BunitContext
{
    [Fact]
    public void Render_WithProgress_ShowsBatchThroughputAndEta()
    {
        var cut = Render<RunProgress>(parameters => parameters.Add(p => p.Progress, new ProgressDto(3, 10, 50, 200, 1234.6, 125)));

        var labels = cut.FindAll(".progress-label span").Select(s => s.TextContent).ToList();
        Assert.Equal(["Epoch 3 of 10 · batch 50 / 200", "1,235 samples/s · ETA 2m 05s"], labels);
        var bar = cut.Find("[role=progressbar]");
        Assert.Equal("25", bar.GetAttribute("aria-valuenow"));
        Assert.Equal("width: 25.0%", cut.Find(".progress-bar").GetAttribute("style"));
    }

    [Fact]
    public void Render_BeforeTheFirstBatchCount_ShowsAnEmptyBarAndNoEta()
    {
        var cut = Render<RunProgress>(parameters => parameters.Add(p => p.Progress, new ProgressDto(1, 10, 0, 0, 0, double.PositiveInfinity)));

        Assert.Equal("width: 0.0%", cut.Find(".progress-bar").GetAttribute("style"));
        Assert.EndsWith("ETA –", cut.FindAll(".progress-label span")[1].TextContent);
    }

    [Fact]
    public void Render_WithoutProgress_RendersNothing()
    {
        var cut = Render<RunProgress>(parameters => parameters.Add(p => p.Progress, null));

        Assert.Empty(cut.Markup.Trim());
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(42.4, "42s")]
    [InlineData(59.4, "59s")]
    [InlineData(59.6, "1m 00s")]
    [InlineData(125, "2m 05s")]
    [InlineData(3599, "59m 59s")]
    [InlineData(3600, "1h 00m")]
    [InlineData(3725, "1h 02m")]
    [InlineData(90_000, "25h 00m")]
    public void FormatEta_Seconds_ShowsTheLargestUnitsThatMatter(double seconds, string expected)
    {
        Assert.Equal(expected, RunProgress.FormatEta(seconds));
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(-1)]
    public void FormatEta_UnknownOrNegative_ShowsADash(double seconds)
    {
        Assert.Equal("–", RunProgress.FormatEta(seconds));
    }
}
