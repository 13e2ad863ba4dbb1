using Bunit;
using Dashboard.Web.Components.Controls;
using Microsoft.AspNetCore.Components;

namespace Dashboard.ComponentTests.Controls;

public sealed class ChartFrameTests : BunitContext
{
    private readonly BunitJSModuleInterop _module;

    public ChartFrameTests()
    {
        _module = JSInterop.SetupModule(ChartFrame.Module);
        _module.SetupVoid("observe", _ => true).SetVoidResult();
        _module.SetupVoid("unobserve", _ => true).SetVoidResult();
    }

    [Fact]
    public void Render_WithChildAndAttributes_WatchesItsOwnElement()
    {
        var cut = Render<ChartFrame>(parameters => parameters
            .AddChildContent("<div class=\"plot\"></div>")
            .AddUnmatched("data-testid", "training-chart"));

        var frame = cut.Find("div.chart-frame");
        Assert.Equal("training-chart", frame.GetAttribute("data-testid"));
        Assert.NotNull(frame.QuerySelector("div.plot"));
        var observed = Assert.Single(_module.VerifyInvoke("observe").Arguments);
        Assert.Equal(frame.GetAttribute("blazor:elementReference"), ((ElementReference)observed!).Id);
    }

    [Fact]
    public async Task DisposeAsync_AfterRender_StopsWatchingTheSameElement()
    {
        var cut = Render<ChartFrame>();
        var observed = (ElementReference)_module.VerifyInvoke("observe").Arguments[0]!;

        await cut.Instance.DisposeAsync();

        Assert.Equal(observed.Id, ((ElementReference)_module.VerifyInvoke("unobserve").Arguments[0]!).Id);
    }

    [Fact]
    public async Task MeasureWidthAsync_ModuleAnswers_ReturnsTheFramesWidth()
    {
        _module.Setup<double>("width", _ => true).SetResult(812);
        var cut = Render<ChartFrame>();

        Assert.Equal(812, await cut.InvokeAsync(() => cut.Instance.MeasureWidthAsync()));
    }

    [Fact]
    public async Task MeasureWidthAsync_ModuleFails_ReturnsZero()
    {
        _module.Setup<double>("width", _ => true).SetException(new Microsoft.JSInterop.JSException("no layout"));
        var cut = Render<ChartFrame>();

        Assert.Equal(0, await cut.InvokeAsync(() => cut.Instance.MeasureWidthAsync()));
    }
}
