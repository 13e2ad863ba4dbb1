using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Microsoft.AspNetCore.Components;
using Plotly.Blazor;
using Plotly.Blazor.LayoutLib;
using PlotLayout = Plotly.Blazor.Layout;

namespace Dashboard.Web.Components.Controls;

/// <summary>
/// Loss and accuracy (or, for a regression run, mean absolute error) per epoch, with a marker per checkpoint: a trace per kind, pinned ones ringed, removed or unusable
/// ones faded, and the current best circled and labelled. New points are buffered and sent to the browser in one
/// <c>extendTraces</c> call per flush interval, so a fast run never floods the circuit with one interop call per event;
/// marker changes, which extending cannot express, go in one <c>Plotly.update</c> of just the marker traces per flush.
/// The chart feeds itself: it subscribes to its run's epochs and its live branches' (see <see cref="LiveChartBase"/>),
/// and reads checkpoints from the page's one <see cref="RunCheckpoints"/> list, redrawing markers whenever it changed.
/// </summary>
public sealed partial class TrainingChart : LiveChartBase
{
    public const int LossTrace = 0;
    public const int ValLossTrace = 1;

    /// <summary>The score traces: accuracy for a classification run; for a regression run the same slots draw MAE.</summary>
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

    private readonly Lock _pendingLock = new();
    private readonly Dictionary<int, double> _valLossByEpoch = [];
    private readonly Dictionary<int, long> _stepByEpoch = [];
    private readonly Dictionary<string, int> _overlayTraces = [];
    private readonly Dictionary<string, int> _overlayLastEpoch = [];
    private PlotLayout _layout = null!;
    private IList<ITrace> _data = null!;
    private bool _rendered;
    private int _lastEpoch;
    private int? _bestId;
    private bool _markersChanged;
    private bool _regression;

    // The version of the checkpoint list the markers were last built from.
    private int _markersVersion;

    // What the browser was last sent, per marker trace: which checkpoint each point is, for clicks, and what to diff against.
    private MarkerTrace[] _shownMarkers = [];

    public TrainingChart()
    {
        ChartId = "training-chart";
    }

    /// <summary>The run whose epochs the chart follows live; none (null) draws only what it is given.</summary>
    [Parameter]
    public int? RunId { get; set; }

    /// <summary>
    /// Points known when the chart is first drawn; later ones arrive by the chart's own subscription. Epochs this list
    /// gains later are queued too, so an epoch published just before the chart subscribed is not lost.
    /// </summary>
    [Parameter]
    public IReadOnlyList<MetricDto> InitialMetrics { get; set; } = [];

    /// <summary>The run's checkpoints: the page's one list, which the chart reads and never changes.</summary>
    [Parameter]
    public RunCheckpoints Checkpoints { get; set; } = new();

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

    /// <summary>
    /// A regression run: the score traces draw mae/val_mae on an axis labelled MAE. Also taken as true when the initial
    /// points carry MAE, so a page that does not know the run's task still draws what the run has.
    /// </summary>
    [Parameter]
    public bool Regression { get; set; }

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
        _regression = Regression || InitialMetrics.Any(m => m.Mae is not null || m.ValMae is not null);
        var score = ScoreOf(_regression);
        _layout = NewLayout(60, 60);
        _layout.XAxis =
        [
            new XAxis
            {
                Title = new Plotly.Blazor.LayoutLib.XAxisLib.Title { Text = "epoch" },
                RangeMode = Plotly.Blazor.LayoutLib.XAxisLib.RangeModeEnum.NonNegative,
                // Epochs are whole numbers: a tick per epoch for short runs, Plotly's own spacing (5, 10, …) for long ones.
                DTick = Epochs is > 0 and <= 25 ? 1 : null,
                Tick0 = 1,
            },
        ];
        _layout.YAxis =
        [
            new YAxis { Title = new Plotly.Blazor.LayoutLib.YAxisLib.Title { Text = "loss" } },
            new YAxis
            {
                Title = new Plotly.Blazor.LayoutLib.YAxisLib.Title { Text = score.AxisTitle },
                Overlaying = "y",
                Side = Plotly.Blazor.LayoutLib.YAxisLib.SideEnum.Right,
                // Accuracy is a share; an error is in the target's units, so its axis follows the data.
                Range = _regression ? null : [0, 1],
                RangeMode = _regression ? Plotly.Blazor.LayoutLib.YAxisLib.RangeModeEnum.ToZero : null,
                ShowGrid = false,
            },
        ];

        var metrics = InitialMetrics.OrderBy(m => m.Epoch).ToList();
        foreach (var m in metrics)
        {
            _valLossByEpoch[m.Epoch] = m.ValLoss;
            _stepByEpoch[m.Epoch] = m.Step;
        }

        _lastEpoch = metrics.Count == 0 ? 0 : metrics[^1].Epoch;
        _bestId = BestCheckpointId;
        _markersVersion = Checkpoints.Version;
        _shownMarkers = CheckpointMarkers.Build(Checkpoints, _bestId, Monitor, _stepByEpoch, _valLossByEpoch);
        _layout.Annotations = [.. BestAnnotation(_shownMarkers[^1])];
        _data =
        [
            Line("loss", "#2563eb", "y", metrics.Select(m => (m.Epoch, m.Loss))),
            Line("val_loss", "#ea580c", "y", metrics.Select(m => (m.Epoch, m.ValLoss))),
            Line(score.Name, "#16a34a", "y2", Points(metrics, score.Train), dotted: true),
            Line(score.ValName, "#9333ea", "y2", Points(metrics, score.Validation), dotted: true),
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
            if (overlay.LiveRunId is { } live)
            {
                Subscribe(live);
            }
        }

        if (RunId is { } runId)
        {
            Subscribe(runId);
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

        // Only the list's newest epochs can be unplotted; the page's list is in epoch order.
        var first = InitialMetrics.Count;
        while (first > 0 && InitialMetrics[first - 1].Epoch > _lastEpoch)
        {
            first--;
        }

        for (var i = first; i < InitialMetrics.Count; i++)
        {
            AddEpoch(InitialMetrics[i]);
        }
    }

    protected override Task OnTrainingEventAsync(TrainingEvent trainingEvent)
    {
        if (trainingEvent is EpochCompletedEvent { } epoch)
        {
            if (epoch.RunId == RunId)
            {
                AddEpoch(epoch.Metrics);
            }

            foreach (var overlay in Overlays.Where(o => o.LiveRunId == epoch.RunId))
            {
                AddOverlayPoint(overlay.Key, epoch.Metrics.Epoch, epoch.Metrics.ValLoss);
            }
        }

        return Task.CompletedTask;
    }

    // The plot is drawn once; later changes go through extendTraces and update, never a new render.
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
            QueuePoint(LossTrace, metrics.Epoch, metrics.Loss);
            QueuePoint(ValLossTrace, metrics.Epoch, metrics.ValLoss);
            var score = ScoreOf(_regression);
            QueuePoint(AccuracyTrace, metrics.Epoch, score.Train(metrics));
            QueuePoint(ValAccuracyTrace, metrics.Epoch, score.Validation(metrics));

            // A marker taken inside this epoch, or waiting for its val_loss, is placed by this epoch's step and value.
            if (Checkpoints.Any(c => c.Epoch >= metrics.Epoch - 1 && !CheckpointMarkers.AtEpochEnd(c)))
            {
                _markersChanged = true;
            }
        }
    }

    /// <summary>Queues a point of an overlay curve (a branch that is still training); older epochs are ignored.</summary>
    private void AddOverlayPoint(string key, int epoch, double value)
    {
        lock (_pendingLock)
        {
            if (_overlayLastEpoch.TryGetValue(key, out var last) && epoch > last)
            {
                _overlayLastEpoch[key] = epoch;
                QueuePoint(_overlayTraces[key], epoch, value);
            }
        }
    }

    /// <summary>
    /// After the curves' points, restyles only the marker traces that changed, and the "best" label, in one
    /// <c>Plotly.update</c>: checkpoints added, removed or restyled in the page's list, a new best, or an epoch that moves
    /// a marker taken inside it.
    /// </summary>
    protected override async Task OnFlushAsync()
    {
        MarkerDiff diff;
        lock (_pendingLock)
        {
            var version = Checkpoints.Version;
            if (!_markersChanged && version == _markersVersion)
            {
                return;
            }

            _markersChanged = false;
            _markersVersion = version;
            diff = CheckpointMarkers.Diff(_shownMarkers, Checkpoints, _bestId, Monitor, _stepByEpoch, _valLossByEpoch);
        }

        if (diff.Changed.Count == 0)
        {
            return;
        }

        var layout = new Dictionary<string, object> { ["annotations"] = BestAnnotation(diff.Next[^1]).ToList() };
        _shownMarkers = diff.Next;
        await Chart!.Update(diff.Restyle(), layout, diff.Changed.Select(i => FirstCheckpointTrace + i).ToList());
    }

    /// <summary>Clicks are listened for once the plot exists; not awaited, so a slow module never holds up the first flush.</summary>
    protected override Task OnPlotCreatedAsync()
    {
        if (EpochClicked.HasDelegate)
        {
            _clickSubscription = InvokeAsync(SubscribeClicksAsync);
        }

        return Task.CompletedTask;
    }

    protected override ValueTask DisposeChartAsync() => new(UnsubscribeClicksAsync());
}

/// <summary>A curve drawn for context: faded for a parent run, dashed for a branch.</summary>
/// <param name="Key">Identifies the curve for live points, e.g. "run-7".</param>
/// <param name="LiveRunId">A run still training whose val_loss extends the curve as its epochs complete; null for a finished curve.</param>
public sealed record OverlayCurve(string Key, string Name, string Color, bool Faded, IReadOnlyList<(int Epoch, double Value)> Points, int? LiveRunId = null);
