using Dashboard.Runs.Contracts;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;

namespace Dashboard.Web.Components.Controls;

/// <summary>A drawn point a click pressed on: its trace, its index in that trace and its x, as the browser held them.</summary>
public sealed record PressedPoint(int TraceIndex, int PointIndex, double X);

/// <summary>
/// Clicks on the chart. plotly.js resolves a click's point at release with the axes as they are then, and a live chart
/// rescales as points arrive, so a press on one epoch could open another. <see cref="ClickModule"/> reads the point
/// under the pointer at the press instead, in the frame the person saw, and reports it here.
/// </summary>
public sealed partial class TrainingChart
{
    /// <summary>The module that resolves clicks at the press.</summary>
    public const string ClickModule = "./js/chart-click.js";

    private Task? _clickSubscription;
    private IJSObjectReference? _clickModule;
    private DotNetObjectReference<TrainingChart>? _clickTarget;

    [Inject]
    public required IJSRuntime JS { get; set; }

    /// <summary>
    /// A click, with the point drawn nearest where it was pressed (null when none was near) and the x pressed. A marker
    /// there means that checkpoint, any other point its epoch, and empty space the epoch nearest the x pressed.
    /// </summary>
    [JSInvokable]
    public void OnChartClicked(PressedPoint? point, double? x)
    {
        if (point is not null && MarkerAt(point) is { } checkpoint)
        {
            // Not awaited: the browser's call should not wait for the page; the callback's errors still reach the renderer.
            _ = CheckpointMarkers.Usable(checkpoint) && CheckpointClicked.HasDelegate
                ? CheckpointClicked.InvokeAsync(checkpoint.Id)
                : EpochClicked.InvokeAsync(checkpoint.Epoch);
            return;
        }

        if ((point?.X ?? x) is { } position && double.IsFinite(position))
        {
            _ = EpochClicked.InvokeAsync(Math.Max(1, (int)Math.Round(position)));
        }
    }

    /// <summary>The checkpoint drawn at a pressed point, checked against its x in case the markers changed since the press.</summary>
    private CheckpointDto? MarkerAt(PressedPoint point)
    {
        var trace = point.TraceIndex - FirstCheckpointTrace;
        if (trace < 0 || trace >= _shownMarkers.Length)
        {
            return null;
        }

        var shown = _shownMarkers[trace];
        return point.PointIndex >= 0 && point.PointIndex < shown.Ids.Count && Math.Abs(shown.X[point.PointIndex] - point.X) < 1e-6
            ? Checkpoints.Find(shown.Ids[point.PointIndex])
            : null;
    }

    /// <summary>Only after newPlot: the module waits for plotly.js to give the element its .on(), which extendTraces keeps.</summary>
    private async Task SubscribeClicksAsync()
    {
        try
        {
            _clickModule = await JS.InvokeAsync<IJSObjectReference>("import", ClickModule);
            _clickTarget = DotNetObjectReference.Create(this);
            await _clickModule.InvokeVoidAsync("subscribe", _clickTarget, ChartId);
        }
        catch (JSException)
        {
            // Clicking the curve is a convenience; the checkpoint table offers the same actions.
        }
        catch (Exception e) when (e is JSDisconnectedException or TaskCanceledException or ObjectDisposedException)
        {
            // The page went away while the chart was being set up.
        }
    }

    private async Task UnsubscribeClicksAsync()
    {
        if (_clickSubscription is not null)
        {
            await _clickSubscription.ContinueWith(_ => { }, TaskScheduler.Default);
        }

        try
        {
            if (_clickModule is not null)
            {
                await _clickModule.InvokeVoidAsync("unsubscribe", ChartId);
                await _clickModule.DisposeAsync();
            }
        }
        catch (Exception e) when (e is JSDisconnectedException or JSException or TaskCanceledException)
        {
            // The page is gone, and its listeners with it.
        }

        _clickTarget?.Dispose();
    }
}
