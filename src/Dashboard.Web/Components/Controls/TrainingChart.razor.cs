using Dashboard.Data.Entities;
using Dashboard.Runs.Contracts;
using Microsoft.AspNetCore.Components;
using Plotly.Blazor;
using Plotly.Blazor.LayoutLib;
using PlotLayout = Plotly.Blazor.Layout;

namespace Dashboard.Web.Components.Controls;

/// <summary>
/// Loss and accuracy per epoch, with a marker per checkpoint: a trace per kind, pinned ones ringed, removed or unusable
/// ones faded, and the current best circled and labelled. New points are buffered and sent to the browser in one
/// <c>extendTraces</c> call per flush interval, so a fast run never floods the circuit with one interop call per event;
/// marker changes, which extending cannot express, go in one <c>Plotly.update</c> of just the marker traces per flush.
/// </summary>
public sealed partial class TrainingChart : ComponentBase, IAsyncDisposable
{
    public const int LossTrace = 0;
    public const int ValLossTrace = 1;
    public const int AccuracyTrace = 2;
    public const int ValAccuracyTrace = 3;

    /// <summary>The first marker trace; one follows per kind in <see cref="MarkerKinds"/> order, then <see cref="BestTrace"/>.</summary>
    public const int FirstCheckpointTrace = 4;

    /// <summary>The ring around the run's current best checkpoint by its monitor.</summary>
    public static readonly int BestTrace = FirstCheckpointTrace + CheckpointMarkers.Kinds.Count;

    /// <summary>Checkpoint kinds in the order of their traces.</summary>
    public static IReadOnlyList<string> MarkerKinds { get; } = [.. CheckpointMarkers.Kinds.Select(k => k.Kind)];

    public static int CheckpointTrace(string kind) => FirstCheckpointTrace + CheckpointMarkers.KindIndex(kind);

    /// <summary>The legend's name of a kind's trace, e.g. "checkpoint: best".</summary>
    public static string CheckpointTraceName(string kind) => CheckpointMarkers.Kinds[CheckpointMarkers.KindIndex(kind)].TraceName;

    /// <summary>The legend's name of the current best's ring, e.g. "best by val_loss".</summary>
    public static string BestTraceName(string monitor) => CheckpointMarkers.BestTraceName(monitor);

    /// <summary>How often buffered points reach the browser (the Aspire dashboard uses about the same).</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(200);

    private readonly Lock _pendingLock = new();
    private readonly List<MetricDto> _pendingMetrics = [];
    private readonly Dictionary<int, CheckpointDto> _markers = [];
    private readonly Dictionary<int, double> _valLossByEpoch = [];
    private readonly Dictionary<int, long> _stepByEpoch = [];
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
    private int _lastEpoch;
    private int? _bestId;
    private bool _markersChanged;

    // What the browser was last sent, per marker trace: which checkpoint each point is, for clicks, and what to diff against.
    private MarkerTrace[] _shownMarkers = [];

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

    /// <summary>The run's current best checkpoint by its monitor; the chart rings it and labels it "best".</summary>
    [Parameter]
    public int? BestCheckpointId { get; set; }

    /// <summary>The metric the best is judged by (the run's checkpoint monitor), for the legend.</summary>
    [Parameter]
    public string Monitor { get; set; } = "valLoss";

    /// <summary>Raised with the epoch of a clicked point of a curve, or of a checkpoint that can no longer be used.</summary>
    [Parameter]
    public EventCallback<int> EpochClicked { get; set; }

    /// <summary>Raised with the id of a clicked marker of a durable checkpoint; without a handler, its epoch is raised instead.</summary>
    [Parameter]
    public EventCallback<int> CheckpointClicked { get; set; }

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
            _stepByEpoch[m.Epoch] = m.Step;
        }

        _lastEpoch = metrics.Count == 0 ? 0 : metrics[^1].Epoch;
        foreach (var checkpoint in InitialCheckpoints.Where(IsPlottable))
        {
            _markers[checkpoint.Id] = checkpoint;
        }

        _bestId = BestCheckpointId;
        _shownMarkers = BuildMarkers();
        _layout.Annotations = [.. BestAnnotation(_shownMarkers[^1])];
        _data =
        [
            Line("loss", "#2563eb", "y", metrics.Select(m => (m.Epoch, m.Loss))),
            Line("val_loss", "#ea580c", "y", metrics.Select(m => (m.Epoch, m.ValLoss))),
            Line("accuracy", "#16a34a", "y2", metrics.Where(m => m.Accuracy is not null).Select(m => (m.Epoch, m.Accuracy!.Value)), dotted: true),
            Line("val_accuracy", "#9333ea", "y2", metrics.Where(m => m.ValAccuracy is not null).Select(m => (m.Epoch, m.ValAccuracy!.Value)), dotted: true),
            .. CheckpointMarkers.Kinds.Select((kind, k) => MarkerScatter(kind.TraceName, kind.Color, _shownMarkers[k])),
            MarkerScatter(BestTraceName(Monitor), CheckpointMarkers.BestColor, _shownMarkers[^1]),
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

    /// <summary>A new best from the page (it asks the server, by the run's monitor) moves the ring at the next flush.</summary>
    protected override void OnParametersSet()
    {
        lock (_pendingLock)
        {
            if (_data is not null && BestCheckpointId != _bestId)
            {
                _bestId = BestCheckpointId;
                _markersChanged = true;
            }
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
            _stepByEpoch[metrics.Epoch] = metrics.Step;
            _pendingMetrics.Add(metrics);

            // A marker taken inside this epoch, or waiting for its val_loss, is placed by this epoch's step and value.
            if (_markers.Values.Any(c => c.Epoch >= metrics.Epoch - 1 && !CheckpointMarkers.AtEpochEnd(c)))
            {
                _markersChanged = true;
            }
        }
    }

    /// <summary>Queues a marker for a new checkpoint; one already plotted is ignored.</summary>
    public void AddCheckpoint(CheckpointDto checkpoint)
    {
        lock (_pendingLock)
        {
            if (IsPlottable(checkpoint) && _markers.TryAdd(checkpoint.Id, checkpoint))
            {
                _markersChanged = true;
            }
        }
    }

    /// <summary>
    /// Queues a change of a checkpoint: pinned or unpinned, removed by retention or a user, found corrupt or missing. Its
    /// marker is restyled in place (faded when it can no longer be used); an unknown one is added.
    /// </summary>
    public void UpdateCheckpoint(CheckpointDto checkpoint)
    {
        lock (_pendingLock)
        {
            if (IsPlottable(checkpoint) && (!_markers.TryGetValue(checkpoint.Id, out var known) || known != checkpoint))
            {
                _markers[checkpoint.Id] = checkpoint;
                _markersChanged = true;
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
        MarkerTrace[]? markers = null;
        (string Key, int Epoch, double Value)[] overlay;
        lock (_pendingLock)
        {
            metrics = [.. _pendingMetrics];
            overlay = [.. _pendingOverlay];
            _pendingMetrics.Clear();
            _pendingOverlay.Clear();
            if (_markersChanged)
            {
                markers = BuildMarkers();
                _markersChanged = false;
            }
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

        if (markers is not null)
        {
            await UpdateMarkersAsync(markers);
        }
    }

    /// <summary>
    /// Restyles only the marker traces that changed, and the "best" label, in one <c>Plotly.update</c>. Each attribute
    /// holds one value per trace updated (plotly.js's restyle rule), here each a per-point array.
    /// </summary>
    private async Task UpdateMarkersAsync(MarkerTrace[] markers)
    {
        var changed = Enumerable.Range(0, markers.Length).Where(i => !markers[i].SameAs(_shownMarkers[i])).ToList();
        if (changed.Count == 0)
        {
            return;
        }

        var traces = changed.Select(i => markers[i]).ToList();
        var data = new Dictionary<string, object>
        {
            ["x"] = traces.Select(t => t.X).ToList(),
            ["y"] = traces.Select(t => t.Y).ToList(),
            ["text"] = traces.Select(t => t.Text).ToList(),
            ["marker.symbol"] = traces.Select(t => t.Symbols).ToList(),
            ["marker.opacity"] = traces.Select(t => t.Opacity).ToList(),
            ["marker.size"] = traces.Select(t => t.Size).ToList(),
            ["marker.line.color"] = traces.Select(t => t.LineColors).ToList(),
            ["marker.line.width"] = traces.Select(t => t.LineWidths).ToList(),
        };
        var layout = new Dictionary<string, object> { ["annotations"] = BestAnnotation(markers[^1]).ToList() };
        _shownMarkers = markers;
        await _chart!.Update(data, layout, changed.Select(i => FirstCheckpointTrace + i).ToList());
    }

    private MarkerTrace[] BuildMarkers() => CheckpointMarkers.Build(_markers.Values, _bestId, Monitor, _stepByEpoch, _valLossByEpoch);

    public async ValueTask DisposeAsync()
    {
        await UnsubscribeClicksAsync();

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

    /// <summary>Every checkpoint but one still being written: removed and unusable ones stay, faded, so the record shows them.</summary>
    private static bool IsPlottable(CheckpointDto checkpoint) => checkpoint.Status != CheckpointStatus.Writing;
}

/// <summary>A curve drawn for context: faded for a parent run, dashed for a branch.</summary>
/// <param name="Key">Identifies the curve for live points, e.g. "run-7".</param>
public sealed record OverlayCurve(string Key, string Name, string Color, bool Faded, IReadOnlyList<(int Epoch, double Value)> Points);
