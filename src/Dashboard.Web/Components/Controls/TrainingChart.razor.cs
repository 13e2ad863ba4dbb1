using Dashboard.Engine.Checkpoints;
using Microsoft.AspNetCore.Components;
using System.Globalization;
using System.Text.Json;
using Plotly.Blazor;
using Plotly.Blazor.Interop;
using Plotly.Blazor.LayoutLib;
using Plotly.Blazor.Traces;
using Plotly.Blazor.Traces.ScatterLib;
using PlotLayout = Plotly.Blazor.Layout;

namespace Dashboard.Web.Components.Controls;

/// <summary>
/// Loss and accuracy per epoch, with a marker per kept checkpoint. New points are buffered and sent to the browser in
/// one <c>extendTraces</c> call per flush interval, so a fast run never floods the circuit with one interop call per event.
/// </summary>
public sealed partial class TrainingChart : ComponentBase, IAsyncDisposable
{
    public const int LossTrace = 0;
    public const int ValLossTrace = 1;
    public const int AccuracyTrace = 2;
    public const int ValAccuracyTrace = 3;
    public const int CheckpointTrace = 4;

    /// <summary>How often buffered points reach the browser (the Aspire dashboard uses about the same).</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(200);

    private readonly Lock _pendingLock = new();
    private readonly List<MetricDto> _pendingMetrics = [];
    private readonly List<CheckpointDto> _pendingCheckpoints = [];
    private readonly HashSet<int> _plottedCheckpoints = [];
    private readonly Dictionary<int, double> _valLossByEpoch = [];
    private readonly Dictionary<string, int> _overlayTraces = [];
    private readonly Dictionary<string, int> _overlayLastEpoch = [];
    private readonly List<(string Key, int Epoch, double Value)> _pendingOverlay = [];
    private PlotlyChart? _chart;
    private Config _config = null!;
    private PlotLayout _layout = null!;
    private IList<ITrace> _data = null!;
    private PeriodicTimer? _timer;
    private Task? _flushLoop;
    private bool _rendered;
    private bool _plotCreated;
    private Task? _clickSubscription;
    private int _lastEpoch;

    [Parameter]
    public string ChartId { get; set; } = "training-chart";

    /// <summary>Points known when the chart is first drawn; later ones arrive through <see cref="AddEpoch"/>.</summary>
    [Parameter]
    public IReadOnlyList<MetricDto> InitialMetrics { get; set; } = [];

    [Parameter]
    public IReadOnlyList<CheckpointDto> InitialCheckpoints { get; set; } = [];

    /// <summary>The run's target epochs; short runs get one x tick per epoch.</summary>
    [Parameter]
    public int Epochs { get; set; }

    /// <summary>Other curves drawn behind this run's: its parent up to the fork, its branches from theirs.</summary>
    [Parameter]
    public IReadOnlyList<OverlayCurve> Overlays { get; set; } = [];

    /// <summary>Raised with the epoch of a clicked point (any trace).</summary>
    [Parameter]
    public EventCallback<int> EpochClicked { get; set; }

    /// <summary>Epochs and checkpoints plotted so far, including those still waiting for the next flush.</summary>
    public int EpochCount => _lastEpoch;

    protected override void OnInitialized()
    {
        _config = new Config { Responsive = true, DisplayLogo = false, DisplayModeBar = Plotly.Blazor.ConfigLib.DisplayModeBarEnum.Hover };
        _layout = new PlotLayout
        {
            Height = 440,
            Margin = new Margin { L = 60, R = 60, T = 30, B = 50 },
            HoverMode = HoverModeEnum.XUnified,
            Legend = [new Legend { Orientation = Plotly.Blazor.LayoutLib.LegendLib.OrientationEnum.H, Y = 1.12m }],
            XAxis =
            [
                new XAxis
                {
                    Title = new Plotly.Blazor.LayoutLib.XAxisLib.Title { Text = "epoch" },
                    RangeMode = Plotly.Blazor.LayoutLib.XAxisLib.RangeModeEnum.NonNegative,
                    // Epochs are whole numbers: a tick per epoch for short runs, Plotly's own spacing (5, 10, …) for long ones.
                    DTick = Epochs is > 0 and <= 25 ? 1 : null,
                    Tick0 = 1,
                },
            ],
            YAxis =
            [
                new YAxis { Title = new Plotly.Blazor.LayoutLib.YAxisLib.Title { Text = "loss" } },
                new YAxis
                {
                    Title = new Plotly.Blazor.LayoutLib.YAxisLib.Title { Text = "accuracy" },
                    Overlaying = "y",
                    Side = Plotly.Blazor.LayoutLib.YAxisLib.SideEnum.Right,
                    Range = [0, 1],
                    ShowGrid = false,
                },
            ],
        };

        var metrics = InitialMetrics.OrderBy(m => m.Epoch).ToList();
        foreach (var m in metrics)
        {
            _valLossByEpoch[m.Epoch] = m.ValLoss;
        }

        _lastEpoch = metrics.Count == 0 ? 0 : metrics[^1].Epoch;
        var checkpoints = InitialCheckpoints.Where(IsPlottable).OrderBy(c => c.Step).ToList();
        _plottedCheckpoints.UnionWith(checkpoints.Select(c => c.Id));
        _data =
        [
            Line("loss", "#2563eb", "y", metrics.Select(m => (m.Epoch, m.Loss))),
            Line("val_loss", "#ea580c", "y", metrics.Select(m => (m.Epoch, m.ValLoss))),
            Line("accuracy", "#16a34a", "y2", metrics.Where(m => m.Accuracy is not null).Select(m => (m.Epoch, m.Accuracy!.Value)), dotted: true),
            Line("val_accuracy", "#9333ea", "y2", metrics.Where(m => m.ValAccuracy is not null).Select(m => (m.Epoch, m.ValAccuracy!.Value)), dotted: true),
            new Scatter
            {
                Name = "checkpoints",
                Mode = ModeFlag.Markers,
                X = checkpoints.Select(c => (object)c.Epoch).ToList(),
                Y = checkpoints.Select(c => (object?)MarkerHeight(c)).ToList(),
                Marker = new Marker { Symbol = Plotly.Blazor.Traces.ScatterLib.MarkerLib.SymbolEnum.Diamond, Size = 11, Color = "#0f172a" },
                HoverTemplate = "checkpoint @ epoch %{x}<extra></extra>",
            },
        ];
        foreach (var overlay in Overlays)
        {
            _overlayTraces[overlay.Key] = _data.Count;
            _overlayLastEpoch[overlay.Key] = overlay.Points.Count == 0 ? int.MinValue : overlay.Points.Max(p => p.Epoch);
            var trace = Line(overlay.Name, overlay.Color, "y", overlay.Points.Select(p => (p.Epoch, p.Value)), dotted: false);
            trace.Opacity = overlay.Faded ? 0.4m : 0.8m;
            trace.Line.Dash = overlay.Faded ? "solid" : "dash";
            _data.Add(trace);
        }
    }

    protected override bool ShouldRender() => !_rendered;

    protected override void OnAfterRender(bool firstRender)
    {
        if (firstRender)
        {
            _rendered = true;
        }
    }

    /// <summary>Plotly reports x as whatever JSON it holds; epochs are whole numbers.</summary>
    internal static int? EpochOf(object? x) => x switch
    {
        JsonElement { ValueKind: JsonValueKind.Number } e => (int)Math.Round(e.GetDouble()),
        JsonElement { ValueKind: JsonValueKind.String } e when double.TryParse(e.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) => (int)Math.Round(v),
        IConvertible c => (int)Math.Round(c.ToDouble(CultureInfo.InvariantCulture)),
        _ => null,
    };

    // Plotly.Blazor's ClickAction is synchronous; the callback's own errors still reach the renderer through EventCallback.
    private void OnPlotClick(IEnumerable<EventDataPoint> points)
    {
        if (points.Select(p => EpochOf(p.X)).FirstOrDefault(e => e is not null) is { } epoch)
        {
            _ = EpochClicked.InvokeAsync(epoch);
        }
    }

    /// <summary>Queues an epoch's points; an epoch already plotted is ignored, so replays and races are harmless.</summary>
    public void AddEpoch(MetricDto metrics)
    {
        lock (_pendingLock)
        {
            if (metrics.Epoch <= _lastEpoch)
            {
                return;
            }

            _lastEpoch = metrics.Epoch;
            _valLossByEpoch[metrics.Epoch] = metrics.ValLoss;
            _pendingMetrics.Add(metrics);
        }
    }

    /// <summary>Queues a marker for a durable checkpoint; one already plotted is ignored.</summary>
    public void AddCheckpoint(CheckpointDto checkpoint)
    {
        lock (_pendingLock)
        {
            if (IsPlottable(checkpoint) && _plottedCheckpoints.Add(checkpoint.Id))
            {
                _pendingCheckpoints.Add(checkpoint);
            }
        }
    }

    /// <summary>Queues a point of an overlay curve (a branch that is still training); older epochs are ignored.</summary>
    public void AddOverlayPoint(string key, int epoch, double value)
    {
        lock (_pendingLock)
        {
            if (_overlayLastEpoch.TryGetValue(key, out var last) && epoch > last)
            {
                _overlayLastEpoch[key] = epoch;
                _pendingOverlay.Add((key, epoch, value));
            }
        }
    }

    /// <summary>Sends everything queued to the browser now.</summary>
    public async Task FlushAsync()
    {
        if (_chart is null || !_plotCreated)
        {
            return;
        }

        MetricDto[] metrics;
        CheckpointDto[] checkpoints;
        (string Key, int Epoch, double Value)[] overlay;
        lock (_pendingLock)
        {
            metrics = [.. _pendingMetrics];
            checkpoints = [.. _pendingCheckpoints];
            overlay = [.. _pendingOverlay];
            _pendingMetrics.Clear();
            _pendingCheckpoints.Clear();
            _pendingOverlay.Clear();
        }

        if (overlay.Length > 0)
        {
            var byTrace = overlay.GroupBy(p => _overlayTraces[p.Key]).ToList();
            await _chart.ExtendTraces(
                byTrace.Select(g => (IEnumerable<object>)g.Select(p => (object)p.Epoch).ToList()),
                byTrace.Select(g => (IEnumerable<object>)g.Select(p => (object)p.Value).ToList()),
                byTrace.Select(g => g.Key));
        }

        if (metrics.Length > 0)
        {
            var x = metrics.Select(m => (object)m.Epoch).ToList();
            await _chart.ExtendTraces(
                [x, x, x, x],
                [
                    metrics.Select(m => (object)m.Loss).ToList(),
                    metrics.Select(m => (object)m.ValLoss).ToList(),
                    // A missing value goes as null, which plotly.js draws as a gap; NaN cannot be written as JSON.
                    metrics.Select(m => (object?)m.Accuracy).ToList(),
                    metrics.Select(m => (object?)m.ValAccuracy).ToList(),
                ],
                [LossTrace, ValLossTrace, AccuracyTrace, ValAccuracyTrace]);
        }

        if (checkpoints.Length > 0)
        {
            await _chart.ExtendTraces(
                [checkpoints.Select(c => (object)c.Epoch).ToList()],
                [checkpoints.Select(c => (object?)MarkerHeight(c)).ToList()],
                [CheckpointTrace]);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_clickSubscription is not null)
        {
            await _clickSubscription.ContinueWith(_ => { }, TaskScheduler.Default);
        }

        _timer?.Dispose();
        if (_flushLoop is not null)
        {
            await _flushLoop;
        }
    }

    /// <summary>
    /// Starts flushing once the plot exists. Plotly.Blazor's ExtendTraces appends to <see cref="_data"/> at once, but its
    /// newPlot serialises <see cref="_data"/> only after plotly.js has loaded: points flushed before then would be drawn
    /// twice, once by newPlot and once by extendTraces.
    /// </summary>
    private void OnPlotCreated()
    {
        if (_plotCreated)
        {
            return;
        }

        _plotCreated = true;
        _timer = new PeriodicTimer(FlushInterval);
        _flushLoop = FlushLoopAsync(_timer);
        if (EpochClicked.HasDelegate)
        {
            _clickSubscription = InvokeAsync(SubscribeClicksAsync);
        }
    }

    /// <summary>Only after newPlot, which is when plotly.js gives the element its .on(); extendTraces keeps the handler.</summary>
    private async Task SubscribeClicksAsync()
    {
        try
        {
            await _chart!.SubscribeClickEvent();
        }
        catch (Microsoft.JSInterop.JSException)
        {
            // Clicking the curve is a convenience; the checkpoint table offers the same actions.
        }
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
        catch (Exception e) when (e is ObjectDisposedException or Microsoft.JSInterop.JSDisconnectedException or TaskCanceledException)
        {
            // The circuit went away with the page; nothing is left to draw on.
        }
    }

    private static bool IsPlottable(CheckpointDto checkpoint) =>
        checkpoint.Status == "durable" && checkpoint.Kind != CheckpointKind.Interrupt && checkpoint.Epoch > 0;

    /// <summary>The checkpoint's val_loss, else the curve's at its epoch; null (a gap, never NaN, which JSON cannot carry) without either.</summary>
    private double? MarkerHeight(CheckpointDto checkpoint) =>
        checkpoint.Metrics.TryGetValue("valLoss", out var valLoss) ? valLoss
        : _valLossByEpoch.TryGetValue(checkpoint.Epoch, out var fromCurve) ? fromCurve
        : null;

    private static Scatter Line(string name, string color, string axis, IEnumerable<(int Epoch, double Value)> points, bool dotted = false)
    {
        var list = points.ToList();
        return new Scatter
        {
            Name = name,
            Mode = ModeFlag.Lines | ModeFlag.Markers,
            X = list.Select(p => (object)p.Epoch).ToList(),
            Y = list.Select(p => (object)p.Value).ToList(),
            YAxis = axis,
            Line = new Line { Color = color, Width = 2, Dash = dotted ? "dot" : "solid" },
            Marker = new Marker { Color = color, Size = 6 },
        };
    }
}

/// <summary>A curve drawn for context: faded for a parent run, dashed for a branch.</summary>
/// <param name="Key">Identifies the curve for live points, e.g. "run-7".</param>
public sealed record OverlayCurve(string Key, string Name, string Color, bool Faded, IReadOnlyList<(int Epoch, double Value)> Points);
