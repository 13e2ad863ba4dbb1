using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Options;
using Dashboard.TestSupport;
using Dashboard.Web.Components.Pages;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Pages;

/// <summary>The Plugins page and the New-run form's hyperparameter inputs, over the real sample and broken plugins.</summary>
public sealed class PluginsTests : DashboardTestContext
{
    private void LoadPlugins() => Services.Configure<TrainingOptions>(o => o.Plugins = [PluginFolders.Sample, PluginFolders.Broken]);

    [Fact]
    public void Render_SampleAndBrokenPlugins_ListsTheLoadedOneAndEachProblem()
    {
        LoadPlugins();

        var cut = Render<PluginsPage>();

        var sample = cut.FindAll("[data-testid=plugin]").Single(r => r.TextContent.Contains("SamplePlugin", StringComparison.Ordinal));
        Assert.Contains("wave-conv", sample.TextContent, StringComparison.Ordinal);
        Assert.Contains("waves", sample.TextContent, StringComparison.Ordinal);
        Assert.Contains(PluginFolders.Sample, sample.TextContent, StringComparison.Ordinal);
        var problems = cut.FindAll("[data-testid=plugin-problem]").Select(p => p.TextContent).ToList();
        Assert.Contains(problems, p => p.Contains("broken on purpose in Register", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("broken on purpose in build", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Submit_HyperparameterOutOfBounds_ShowsTheMessageBesideItsInputAndCreatesNoRun()
    {
        LoadPlugins();
        var cut = Render<NewRun>();
        cut.Find("[data-testid=dataset]").Change("waves");
        cut.Find("[data-testid=model]").Change("wave-conv");

        Assert.Equal("16", cut.Find("[data-testid=hp-width]").GetAttribute("value"));
        Assert.Equal("256", cut.Find("[data-testid=hp-width]").GetAttribute("max"));
        Assert.Equal(["3", "5", "7"], cut.FindAll("[data-testid=hp-kernel] option").Select(o => o.TextContent));
        cut.Find("[data-testid=hp-width]").Change("999");
        await cut.Find("form").SubmitAsync();

        Assert.Contains("between 1 and 256", cut.Find("[data-testid=hp-error-width]").TextContent, StringComparison.Ordinal);
        Assert.Equal(0, await Database.CountRunsAsync());
    }

    [Fact]
    public async Task Submit_NonDefaultHyperparameters_StoresEveryValueInTheRunsConfig()
    {
        LoadPlugins();
        var cut = Render<NewRun>();
        cut.Find("[data-testid=dataset]").Change("waves");
        cut.Find("[data-testid=model]").Change("wave-conv");
        cut.Find("[data-testid=hp-width]").Change("8");
        cut.Find("[data-testid=hp-kernel]").Change("3");

        await cut.Find("form").SubmitAsync();

        await using var db = Database.CreateContext();
        var run = await db.Runs.SingleAsync();
        Assert.Equal(new Dictionary<string, double> { ["kernel"] = 3, ["width"] = 8 }, RunConfigCodec.Read(run.ConfigJson)!.Hyperparameters);
    }
}
