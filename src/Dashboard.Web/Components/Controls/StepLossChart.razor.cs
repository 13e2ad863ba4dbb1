using System.Data.Common;
using System.Diagnostics;
using System.Text.Json;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Management;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;
using Plotly.Blazor;
using Plotly.Blazor.Interop;
using Plotly.Blazor.LayoutLib;
using Plotly.Blazor.Traces;
using Plotly.Blazor.Traces.ScatterLib;

namespace Dashboard.Web.Components.Controls;

/// <summary>
/// A run's training loss per optimizer step. The server thins the curve to one bucket per pixel of the chart (lowest,
/// highest and mean loss of each), so 100,000s of steps draw as fast as a few hundred; zooming asks again for just the
/// visible range, so detail appears down to single steps, and a double-click goes back to the whole run. While the run
/// trains, the whole-run view is read again at most once a second. A branch continues its parent's step count, so the
/// runs it continues (<see cref="Ancestors"/>) are drawn lighter up to each fork, read for the same range and buckets.
/// </summary>
public sealed partial class StepLossChart : LiveChartBase
{
    public const int MinTrace = 0;
    public const int MaxTrace = 1;
    public const int LossTrace = 2;
    public const int SmoothedTrace = 3;

    /// <summary>The first ancestor's trace; one follows per entry of <see cref="Ancestors"/>, in its order.</summary>
    public const int FirstAncestorTrace = 4;

    /// <summary>How often a live chart looks for new steps; slower when reading them takes long.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);

    // The plot's left and right margins: buckets are counted across the plotting area, not the whole frame.
    private const int MarginLeft = 60;
    private const int MarginRight = 20;
    private const int MinBuckets = 50;

    private readonly Scatter _min = Band("lowest", fill: false);
    private readonly Scatter _max = Band("loss range (lowest to highest per bucket)", fill: true);
    private readonly Scatter _loss = Curve("loss", "#2563eb", 1, "loss");
    private readonly Scatter _smoothed = Curve("loss (smoothed)", "#1e3a8a", 2, "smoothed");
    private readonly Plotly.Blazor.Layout _layout = NewLayout(MarginLeft, MarginRight);
    private readonly IList<ITrace> _data;
    private ChartFrame? _frame;
    private bool _stale;
    private int _version;
    private int _buckets = RunService.DefaultStepBuckets;
    private (long From, long To)? _zoom;
    private (double X0, double X1)? _view;
    private DateTime _nextRefresh = DateTime.MinValue;
    private StepSeriesDto? _series;
    private AncestorCurve[] _ancestors = [];
    private double _smoothing = 0.6;
    private string? _message;

    public StepLossChart()
    {
        ChartId = "step-loss-chart";
        _data = [_min, _max, _loss, _smoothed];
        _layout.UiRevision = "steps";
        _layout.XAxis = [new XAxis { Title = new Plotly.Blazor.LayoutLib.XAxisLib.Title { Text = "step" } }];
        _layout.YAxis = [new YAxis { Title = new Plotly.Blazor.LayoutLib.YAxisLib.Title { Text = "loss" }, AutoRange = Plotly.Blazor.LayoutLib.YAxisLib.AutoRangeEnum.True }];
    }

    [Parameter]
    [EditorRequired]
    public int RunId { get; set; }

    [Inject]
    public required RunService RunService { get; set; }

    /// <summary>
    /// The runs this one continues, nearest first, each drawn up to its fork. Read when the chart is created: a run's
    /// lineage never changes.
    /// </summary>
    [Parameter]
    public IReadOnlyList<StepAncestor> Ancestors { get; set; } = [];

    /// <summary>What the chart shows now; null before the first answer.</summary>
    public StepSeriesDto? Series => _series;

    protected override void OnInitialized()
    {
        _ancestors = [.. Ancestors.Select(a => new AncestorCurve(a, AncestorTrace(a.RunId)))];
        foreach (var ancestor in _ancestors)
        {
            _data.Add(ancestor.Trace);
        }

        Subscribe(RunId);
    }

    /// <summary>New steps are stored before any event about them goes out, so any of these means a re-read finds more.</summary>
    protected override Task OnTrainingEventAsync(TrainingEvent trainingEvent)
    {
        if (trainingEvent is ProgressEvent or EpochCompletedEvent or RunStatusChangedEvent)
        {
            _stale = true;
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// A zoom or pan names the new x range: read that range at the chart's width. A double-click (autorange) goes back to
    /// the whole run; a resize measures the width again.
    /// </summary>
    private void OnRelayout(RelayoutEventData data)
    {
        var raw = data.RawData ?? new Dictionary<string, JsonElement>();
        if (ReadXRange(data, raw) is { } range)
        {
            var from = (long)Math.Max(0, Math.Floor(Math.Min(range.X0, range.X1)));
            var to = (long)Math.Max(from, Math.Ceiling(Math.Max(range.X0, range.X1)));
            _view = range;
            _zoom = (from, to);
        }
        else if (raw.TryGetValue("xaxis.autorange", out var auto) && auto.ValueKind == JsonValueKind.True)
        {
            _view = null;
            _zoom = null;
        }
        else if (!raw.ContainsKey("autosize") && !raw.ContainsKey("width"))
        {
            return; // a y-only zoom or another layout change: the steps shown stay the same
        }

        _ = InvokeAsync(async () =>
        {
            if (raw.ContainsKey("autosize") || raw.ContainsKey("width"))
            {
                await MeasureAsync();
            }

            await LoadAsync();
        });
    }

    private static (double X0, double X1)? ReadXRange(RelayoutEventData data, IDictionary<string, JsonElement> raw)
    {
        if (data.XRange is { Length: 2 } pair && NumberOf(pair[0]) is { } a && NumberOf(pair[1]) is { } b)
        {
            return (a, b);
        }

        // Plotly.Blazor's own reading skips a range that starts at exactly 0; the raw keys have it.
        if (raw.TryGetValue("xaxis.range[0]", out var start) && raw.TryGetValue("xaxis.range[1]", out var end)
            && NumberOf(start) is { } x0 && NumberOf(end) is { } x1)
        {
            return (x0, x1);
        }

        return null;
    }

    /// <summary>Measures the frame, listens for zooms and reads the whole run; flushes (live re-reads) start after this.</summary>
    protected override async Task OnPlotCreatedAsync()
    {
        await MeasureAsync();
        try
        {
            await Chart!.SubscribeRelayoutEvent();
        }
        catch (JSException)
        {
            // Without the event the chart still shows the whole run; only zooming in for detail is lost.
        }

        await LoadAsync();
    }

    /// <summary>One bucket per pixel of the plotting area, within what the server answers.</summary>
    private async Task MeasureAsync()
    {
        // Unmeasured (0), the default stands: a typical chart's width.
        var width = _frame is null ? 0 : await _frame.MeasureWidthAsync();
        if (width > 0)
        {
            _buckets = (int)Math.Clamp(width - MarginLeft - MarginRight, MinBuckets, RunService.MaxStepBuckets);
        }
    }

    /// <summary>Reads the range in view (or the whole run) and redraws; an answer overtaken by a newer request is dropped.</summary>
    private async Task LoadAsync()
    {
        var version = ++_version;
        var (from, to) = _zoom ?? (0, long.MaxValue);
        var clock = Stopwatch.StartNew();
        StepSeriesDto? series;
        var ancestors = new (StepRange? Range, StepSeriesDto? Series)[_ancestors.Length];
        try
        {
            series = await RunService.StepsAsync(RunId, from, to, _buckets);
            for (var i = 0; i < _ancestors.Length; i++)
            {
                ancestors[i] = await ReadAncestorAsync(_ancestors[i], from, to);
            }
        }
        catch (DbException e)
        {
            _message = $"The steps could not be read: {e.Message}";
            StateHasChanged();
            return;
        }

        // Re-reading must never cost the server more than a tenth of its time, however long the run.
        _nextRefresh = DateTime.UtcNow + TimeSpan.FromTicks(Math.Max(RefreshInterval.Ticks, clock.Elapsed.Ticks * 10));
        if (version != _version)
        {
            return;
        }

        _series = series;
        for (var i = 0; i < _ancestors.Length; i++)
        {
            (_ancestors[i].Range, _ancestors[i].Series) = ancestors[i];
        }

        _message = series is null ? $"There is no run {RunId}." : null;
        await RedrawAsync();
        StateHasChanged();
    }

    /// <summary>
    /// An ancestor's steps in the range, clipped at its fork (after it, the curve is this run's). Its steps up to the fork
    /// were all stored before the fork checkpoint was, so an answer for the same request stays true and is kept rather than
    /// read again at every live refresh.
    /// </summary>
    private async Task<(StepRange? Range, StepSeriesDto? Series)> ReadAncestorAsync(AncestorCurve ancestor, long from, long to)
    {
        var range = new StepRange(from, Math.Min(to, ancestor.Ancestor.UpToStep), _buckets);
        if (range.From > range.To)
        {
            return (null, null);
        }

        return range == ancestor.Range
            ? (range, ancestor.Series)
            : (range, await RunService.StepsAsync(ancestor.Ancestor.RunId, range.From, range.To, range.Buckets));
    }

    private async Task RedrawAsync()
    {
        Build();
        if (Chart is not null && PlotCreated)
        {
            await Chart.React();
        }
    }

    private void Build()
    {
        var points = _series?.Points ?? [];
        var x = points.Select(p => (object)p.Step).ToList();
        var loss = points.Select(p => p.Loss).ToList();
        (_min.X, _min.Y) = (x, points.Select(p => (object)p.Min).ToList());
        (_max.X, _max.Y) = (x, points.Select(p => (object)p.Max).ToList());
        (_loss.X, _loss.Y) = (x, loss.Select(v => (object)v).ToList());
        (_smoothed.X, _smoothed.Y) = (x, Smoothing.Ema(loss, _smoothing).Select(v => (object)v).ToList());
        _loss.Opacity = _smoothing > 0 ? 0.35m : 1m;
        _smoothed.Visible = _smoothing > 0 ? VisibleEnum.True : VisibleEnum.False;

        // An ancestor's mean alone, smoothed as this run's is: its band too would cover the fork and muddle the two runs.
        foreach (var ancestor in _ancestors)
        {
            var before = ancestor.Series?.Points ?? [];
            ancestor.Trace.X = before.Select(p => (object)p.Step).ToList();
            ancestor.Trace.Y = Smoothing.Ema([.. before.Select(p => p.Loss)], _smoothing).Select(v => (object)v).ToList();
        }

        // The band only means something where a point stands for many steps.
        _min.Visible = _max.Visible = _series?.Downsampled == true ? VisibleEnum.True : VisibleEnum.False;
        var axis = (XAxis)_layout.XAxis[0];
        axis.Range = _view is { } view ? [view.X0, view.X1] : null;
        axis.AutoRange = _view is null ? Plotly.Blazor.LayoutLib.XAxisLib.AutoRangeEnum.True : Plotly.Blazor.LayoutLib.XAxisLib.AutoRangeEnum.False;
    }

    private string Summary() => _series switch
    {
        null => _message is null ? "Loading…" : "",
        { Total: 0 } => "No steps stored for this range yet.",
        { Downsampled: true } s =>
            $"{s.Total:N0} steps ({s.From:N0}–{s.To:N0}) drawn as {s.Points.Count:N0} buckets of about {s.Total / Math.Max(1, s.Points.Count):N0}; drag to zoom in, double-click for the whole run.",
        var s => $"{s.Total:N0} steps ({s.From:N0}–{s.To:N0}), every one drawn; double-click for the whole run.",
    };

    /// <summary>
    /// A live whole-run view is read again when events said there is more, at most once per <see cref="RefreshInterval"/>
    /// (or longer, when reading takes long); a zoomed view stays as it is.
    /// </summary>
    protected override async Task OnFlushAsync()
    {
        if (_stale && _zoom is null && DateTime.UtcNow >= _nextRefresh)
        {
            _stale = false;
            await LoadAsync();
        }
    }

    /// <summary>Named and faded as the per-epoch chart draws a parent's loss, so the two views read alike.</summary>
    private static Scatter AncestorTrace(int runId)
    {
        var trace = Curve($"run #{runId} loss", "#2563eb", 2, $"run #{runId}");
        trace.Opacity = 0.4m;
        return trace;
    }

    private static Scatter Curve(string name, string color, int width, string label) => new()
    {
        Name = name,
        Mode = ModeFlag.Lines,
        Line = new Line { Color = color, Width = width },
        X = [],
        Y = [],
        HoverTemplate = $"step %{{x}}: %{{y:.5g}}<extra>{label}</extra>",
    };

    private static Scatter Band(string name, bool fill) => new()
    {
        Name = name,
        Mode = ModeFlag.Lines,
        Line = new Line { Color = "rgba(37, 99, 235, 0.25)", Width = 0 },
        Fill = fill ? FillEnum.ToNextY : FillEnum.None,
        FillColor = "rgba(37, 99, 235, 0.18)",
        ShowLegend = fill,
        HoverInfo = HoverInfoFlag.Skip,
        X = [],
        Y = [],
    };

    /// <summary>The steps, clipped to the fork, and the bucket count an ancestor was last read with.</summary>
    private readonly record struct StepRange(long From, long To, int Buckets);

    /// <summary>An ancestor's trace and the last answer drawn on it.</summary>
    private sealed class AncestorCurve(StepAncestor ancestor, Scatter trace)
    {
        public StepAncestor Ancestor { get; } = ancestor;

        public Scatter Trace { get; } = trace;

        public StepRange? Range { get; set; }

        public StepSeriesDto? Series { get; set; }
    }
}

/// <summary>A run whose steps lead up to a branch's: drawn up to <paramref name="UpToStep"/>, the fork checkpoint's step.</summary>
public sealed record StepAncestor(int RunId, long UpToStep);
