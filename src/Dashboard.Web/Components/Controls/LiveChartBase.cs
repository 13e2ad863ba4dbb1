using System.Globalization;
using System.Text.Json;
using Dashboard.Runs.Events;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;
using Plotly.Blazor;
using Plotly.Blazor.LayoutLib;

namespace Dashboard.Web.Components.Controls;

/// <summary>
/// What every live Plotly chart of the dashboard shares, after the .NET Aspire dashboard's <c>ChartBase</c>: it subscribes
/// itself to the broadcaster for the runs it draws (handling each event on the renderer), queues new points, and sends
/// them to the browser in one <c>extendTraces</c> call per <see cref="FlushInterval"/>, so a fast run never floods the
/// circuit with one interop call per event. Nothing is sent before the plot exists. A derived chart draws its own
/// traces, queues points with <see cref="QueuePoint"/> and does any other work of a flush in <see cref="OnFlushAsync"/>.
/// </summary>
public abstract class LiveChartBase : ComponentBase, IAsyncDisposable
{
    /// <summary>How often queued points reach the browser (the Aspire dashboard uses about the same).</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(200);

    private readonly Lock _queueLock = new();
    private readonly List<(int Trace, object X, object? Y)> _queue = [];
    private readonly List<IDisposable> _subscriptions = [];
    private PeriodicTimer? _timer;
    private Task? _flushLoop;
    private bool _disposed;

    [Inject]
    public required TrainingEventBroadcaster Broadcaster { get; set; }

    /// <summary>The chart's element id in the page.</summary>
    [Parameter]
    public string ChartId { get; set; } = "";

    /// <summary>The plot's settings, the same for every chart: resizes with its frame, tools shown on hover.</summary>
    protected Config PlotConfig { get; } = new() { Responsive = true, DisplayLogo = false, DisplayModeBar = Plotly.Blazor.ConfigLib.DisplayModeBarEnum.Hover };

    /// <summary>The drawn plot; set by the derived chart's markup.</summary>
    protected PlotlyChart? Chart { get; set; }

    /// <summary>
    /// True once plotly.js has drawn the plot. Plotly.Blazor's ExtendTraces appends to the traces' data at once, but its
    /// newPlot serialises that data only after plotly.js has loaded: points sent before then would be drawn twice, once
    /// by newPlot and once by extendTraces.
    /// </summary>
    protected bool PlotCreated { get; private set; }

    /// <summary>The layout every chart starts from, so they read alike: same height, margins, hover and legend above the plot.</summary>
    protected static Plotly.Blazor.Layout NewLayout(int marginLeft, int marginRight) => new()
    {
        Height = 440,
        Margin = new Margin { L = marginLeft, R = marginRight, T = 30, B = 50 },
        HoverMode = HoverModeEnum.XUnified,
        Legend = [new Legend { Orientation = Plotly.Blazor.LayoutLib.LegendLib.OrientationEnum.H, Y = 1.12m }],
    };

    /// <summary>A number as Plotly reports it: a JSON number or numeric string, or a .NET number; null for anything else.</summary>
    internal static double? NumberOf(object? value) => value switch
    {
        JsonElement { ValueKind: JsonValueKind.Number } e => e.GetDouble(),
        JsonElement { ValueKind: JsonValueKind.String } e when double.TryParse(e.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) => v,
        IConvertible c when value is not string and not bool => c.ToDouble(CultureInfo.InvariantCulture),
        _ => null,
    };

    /// <summary>Listens to one run's events (or every run's, with null) until the chart goes away.</summary>
    protected void Subscribe(int? runId)
    {
        _subscriptions.Add(Broadcaster.Subscribe(e => InvokeAsync(() => OnTrainingEventAsync(e)), runId));
    }

    /// <summary>An event of a subscribed run, on the renderer.</summary>
    protected abstract Task OnTrainingEventAsync(TrainingEvent trainingEvent);

    /// <summary>Queues a point of a trace for the next flush.</summary>
    protected void QueuePoint(int trace, object x, object? y)
    {
        lock (_queueLock)
        {
            _queue.Add((trace, x, y));
        }
    }

    /// <summary>Sends everything queued to the browser now; nothing before the plot exists.</summary>
    public async Task FlushAsync()
    {
        if (Chart is null || !PlotCreated)
        {
            return;
        }

        (int Trace, object X, object? Y)[] points;
        lock (_queueLock)
        {
            points = [.. _queue];
            _queue.Clear();
        }

        if (points.Length > 0)
        {
            // One call for every trace, in trace order; a trace's points keep the order they were queued in.
            var byTrace = points.GroupBy(p => p.Trace).OrderBy(g => g.Key).ToList();
            await Chart.ExtendTraces(
                byTrace.Select(g => (IEnumerable<object>)g.Select(p => p.X).ToList()),
                // A missing value goes as null, which plotly.js draws as a gap; NaN cannot be written as JSON.
                byTrace.Select(g => (IEnumerable<object>)g.Select(p => p.Y!).ToList()),
                byTrace.Select(g => g.Key));
        }

        await OnFlushAsync();
    }

    /// <summary>What else a flush does, after the queued points went out (restyling markers, re-reading a range).</summary>
    protected virtual Task OnFlushAsync() => Task.CompletedTask;

    /// <summary>What the chart does once its plot exists, before the first flush.</summary>
    protected virtual Task OnPlotCreatedAsync() => Task.CompletedTask;

    /// <summary>The plot's AfterRender: opens the gate and starts flushing.</summary>
    protected void OnPlotCreated()
    {
        if (PlotCreated)
        {
            return;
        }

        PlotCreated = true;
        _ = InvokeAsync(async () =>
        {
            await OnPlotCreatedAsync();
            if (_disposed)
            {
                return;
            }

            _timer = new PeriodicTimer(FlushInterval);
            _flushLoop = FlushLoopAsync(_timer);
        });
    }

    private async Task FlushLoopAsync(PeriodicTimer timer)
    {
        try
        {
            while (await timer.WaitForNextTickAsync())
            {
                await InvokeAsync(FlushAsync);
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or JSDisconnectedException or TaskCanceledException)
        {
            // The circuit went away with the page; nothing is left to draw on.
        }
    }

    /// <summary>What else the chart lets go of when it goes away (click listeners and the like).</summary>
    protected virtual ValueTask DisposeChartAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        foreach (var subscription in _subscriptions)
        {
            subscription.Dispose();
        }

        await DisposeChartAsync();
        _timer?.Dispose();
        if (_flushLoop is not null)
        {
            await _flushLoop;
        }

        GC.SuppressFinalize(this);
    }
}
