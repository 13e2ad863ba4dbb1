using Dashboard.Web.Components.Controls;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Management;
using Microsoft.AspNetCore.Components;
using Plotly.Blazor;
using Plotly.Blazor.Traces;
using Plotly.Blazor.Traces.ScatterLib;

namespace Dashboard.Web.Components.Pages;

/// <summary>Several runs (and branches) on one chart, with smoothing and a log scale.</summary>
public sealed partial class Compare : ComponentBase
{
    public static IReadOnlyList<string> Metrics { get; } = ["valLoss", "loss", "valAccuracy", "accuracy", "valMae", "mae", "learningRate"];

    // A run logs accuracy or MAE, never both: asked for one it lacks, it shows the other (on a second axis) rather than nothing.
    private static readonly Dictionary<string, string> Counterparts = new()
    {
        ["valAccuracy"] = "valMae",
        ["accuracy"] = "mae",
        ["valMae"] = "valAccuracy",
        ["mae"] = "accuracy",
    };

    private static readonly string[] Palette = ["#2563eb", "#ea580c", "#16a34a", "#9333ea", "#0891b2", "#db2777", "#65a30d", "#ca8a04"];

    private readonly Dictionary<int, IReadOnlyList<MetricDto>> _metrics = [];
    private readonly Config _config = new() { Responsive = true, DisplayLogo = false };
    private List<RunDto> _runs = [];
    private HashSet<int> _selected = [];
    private PlotlyChart? _chart;
    private IList<ITrace> _data = [];
    private Plotly.Blazor.Layout _layout = new();
    private double _smoothing = 0.6;
    private bool _logScale;

    [Inject]
    public required RunService RunService { get; set; }

    [Inject]
    public required NavigationManager Navigation { get; set; }

    /// <summary>Runs to show first, e.g. <c>/compare?runs=3,4</c>.</summary>
    [SupplyParameterFromQuery(Name = "runs")]
    public string? RunIds { get; set; }

    [SupplyParameterFromQuery(Name = "metric")]
    public string Metric { get; set; } = "valLoss";

    protected override async Task OnInitializedAsync()
    {
        // Archived runs stay comparable: archiving only tidies the run list.
        _runs = [.. await RunService.ListAsync(new RunFilter(IncludeArchived: true))];
        var requested = (RunIds ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => int.TryParse(s, out var id) ? id : 0)
            .Where(id => _runs.Exists(r => r.Id == id));
        _selected = [.. requested];
        if (_selected.Count == 0)
        {
            _selected = [.. _runs.Take(3).Select(r => r.Id)];
        }

        if (!Metrics.Contains(Metric))
        {
            Metric = "valLoss";
        }

        foreach (var id in _selected)
        {
            _metrics[id] = await RunService.MetricsAsync(id) ?? [];
        }

        Build();
    }

    private async Task ToggleAsync(int runId, ChangeEventArgs e)
    {
        if (e.Value is true)
        {
            _selected.Add(runId);
            _metrics[runId] = await RunService.MetricsAsync(runId) ?? [];
        }
        else
        {
            _selected.Remove(runId);
        }

        Navigation.NavigateTo($"compare?runs={string.Join(",", _selected.Order())}&metric={Metric}", replace: true);
        await RedrawAsync();
    }

    private async Task RedrawAsync()
    {
        Build();
        if (_chart is not null)
        {
            await _chart.React();
        }
    }

    private void Build()
    {
        var traces = new List<ITrace>();
        string? secondAxis = null;
        foreach (var (run, index) in _runs.Where(r => _selected.Contains(r.Id)).Select((r, i) => (r, i)))
        {
            var rows = _metrics.GetValueOrDefault(run.Id) ?? [];
            var x = rows.Select(m => (object)m.Epoch).ToList();
            var metric = MetricFor(rows, Metric);
            var axis = metric == Metric ? "y" : "y2";
            secondAxis = metric == Metric ? secondAxis : metric;
            var raw = rows.Select(m => Value(m, metric)).ToList();
            var color = Palette[index % Palette.Length];
            var name = $"#{run.Id} {run.Name}" + (metric == Metric ? "" : $" ({metric})");
            traces.Add(new Scatter
            {
                Name = name + " (raw)",
                X = x,
                Y = raw.Select(v => (object?)(double.IsFinite(v) ? v : null)).ToList()!,
                Mode = ModeFlag.Lines,
                YAxis = axis,
                Opacity = 0.25m,
                ShowLegend = false,
                Line = new Line { Color = color, Width = 1 },
                HoverTemplate = $"{name}<br>epoch %{{x}}: %{{y:.5g}}<extra>raw</extra>",
            });
            traces.Add(new Scatter
            {
                Name = name,
                X = x,
                Y = Smoothing.Ema(raw, _smoothing).Select(v => (object?)(double.IsFinite(v) ? v : null)).ToList()!,
                YAxis = axis,
                Mode = ModeFlag.Lines | ModeFlag.Markers,
                Line = new Line { Color = color, Width = 2 },
                Marker = new Marker { Color = color, Size = 5 },
                HoverTemplate = $"{name}<br>epoch %{{x}}: %{{y:.5g}}<extra>smoothed</extra>",
            });
        }

        _data = traces;
        var scale = _logScale ? Plotly.Blazor.LayoutLib.YAxisLib.TypeEnum.Log : Plotly.Blazor.LayoutLib.YAxisLib.TypeEnum.Linear;
        _layout = new Plotly.Blazor.Layout
        {
            Height = 480,
            Margin = new Plotly.Blazor.LayoutLib.Margin { L = 60, R = secondAxis is null ? 20 : 60, T = 20, B = 50 },
            HoverMode = Plotly.Blazor.LayoutLib.HoverModeEnum.Closest,
            XAxis = [new Plotly.Blazor.LayoutLib.XAxis { Title = new Plotly.Blazor.LayoutLib.XAxisLib.Title { Text = "epoch" } }],
            YAxis =
            [
                new Plotly.Blazor.LayoutLib.YAxis
                {
                    Title = new Plotly.Blazor.LayoutLib.YAxisLib.Title { Text = Metric },
                    Type = scale,
                },
                .. secondAxis is null ? Array.Empty<Plotly.Blazor.LayoutLib.YAxis>() :
                [
                    new Plotly.Blazor.LayoutLib.YAxis
                    {
                        Title = new Plotly.Blazor.LayoutLib.YAxisLib.Title { Text = secondAxis },
                        Overlaying = "y",
                        Side = Plotly.Blazor.LayoutLib.YAxisLib.SideEnum.Right,
                        Type = scale,
                        ShowGrid = false,
                    },
                ],
            ],
        };
    }

    /// <summary>The metric to draw for a run: the one chosen, or its counterpart when only that has values.</summary>
    public static string MetricFor(IReadOnlyList<MetricDto> rows, string metric) =>
        Counterparts.TryGetValue(metric, out var other)
        && !rows.Any(m => double.IsFinite(Value(m, metric)))
        && rows.Any(m => double.IsFinite(Value(m, other)))
            ? other
            : metric;

    private static double Value(MetricDto m, string metric) => metric switch
    {
        "loss" => m.Loss,
        "valAccuracy" => m.ValAccuracy ?? double.NaN,
        "accuracy" => m.Accuracy ?? double.NaN,
        "valMae" => m.ValMae ?? double.NaN,
        "mae" => m.Mae ?? double.NaN,
        "learningRate" => m.LearningRate,
        _ => m.ValLoss,
    };
}
