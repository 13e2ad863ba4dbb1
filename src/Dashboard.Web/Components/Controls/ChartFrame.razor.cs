using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;

namespace Dashboard.Web.Components.Controls;

/// <summary>
/// The box a Plotly chart sits in. It keeps the plot as wide as the box: Plotly resizes with the window only, and the
/// run page's columns change width without the window changing (the checkpoint panel opens beside the chart).
/// </summary>
public sealed partial class ChartFrame : ComponentBase, IAsyncDisposable
{
    /// <summary>The small module that watches and measures chart frames.</summary>
    public const string Module = "./js/chart-frame.js";

    private ElementReference _element;
    private Task<IJSObjectReference>? _module;

    [Inject]
    public required IJSRuntime JS { get; set; }

    [Parameter]
    public RenderFragment? ChildContent { get; set; }

    [Parameter(CaptureUnmatchedValues = true)]
    public IReadOnlyDictionary<string, object>? Attributes { get; set; }

    /// <summary>The frame's width in CSS pixels, or 0 when it cannot be measured (not yet on screen, or no browser).</summary>
    public async Task<double> MeasureWidthAsync()
    {
        try
        {
            var module = await ModuleAsync();
            return await module.InvokeAsync<double>("width", _element);
        }
        catch (JSException)
        {
            return 0;
        }
    }

    // One import shared by the first render and a measurement that may run beside it.
    private Task<IJSObjectReference> ModuleAsync() => _module ??= JS.InvokeAsync<IJSObjectReference>("import", Module).AsTask();

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (!firstRender)
        {
            return;
        }

        try
        {
            var module = await ModuleAsync();
            await module.InvokeVoidAsync("observe", _element);
        }
        catch (JSException)
        {
            // The chart still fits the window; only following its column's width is lost.
        }
        catch (Exception e) when (e is JSDisconnectedException or TaskCanceledException or ObjectDisposedException)
        {
            // The page went away while it was being set up.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_module is null)
        {
            return;
        }

        try
        {
            var module = await _module;
            await module.InvokeVoidAsync("unobserve", _element);
            await module.DisposeAsync();
        }
        catch (Exception e) when (e is JSDisconnectedException or JSException or TaskCanceledException)
        {
            // The page is gone, and its observers with it.
        }
    }
}
