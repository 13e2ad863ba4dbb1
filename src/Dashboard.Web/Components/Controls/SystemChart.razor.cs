using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Monitoring;
using Microsoft.AspNetCore.Components;
using Plotly.Blazor;
using Plotly.Blazor.LayoutLib;
using Plotly.Blazor.Traces;
using Plotly.Blazor.Traces.ScatterLib;

namespace Dashboard.Web.Components.Controls;

/// <summary>
/// A run's system samples over time: process CPU % (left axis), the run's samples per second and the process's resident
/// memory (right axes). Drawn from the stored samples, then extended live from <see cref="SystemSampleEvent"/>s through
/// <see cref="LiveChartBase"/>'s throttled extendTraces.
/// </summary>
public sealed partial class SystemChart : LiveChartBase
{
    public const int CpuTrace = 0;
    public const int ThroughputTrace = 1;
    public const int MemoryTrace = 2;

    private const double MiB = 1024 * 1024;

    // Samples heard while the stored ones were read: merged in after the read, not lost.
    private readonly List<SystemSampleDto> _heardWhileLoading = [];
    private Plotly.Blazor.Layout _layout = null!;
    private IList<ITrace>? _data;
    private DateTime _lastTime = DateTime.MinValue;
    private int _count;

    [Parameter, EditorRequired]
    public int RunId { get; set; }

    [Inject]
    public required SystemSampleQueries Samples { get; set; }

    /// <summary>Samples drawn so far, including those waiting for the next flush.</summary>
    public int SampleCount => _count;

    private string Caption => _count == 0
        ? "No system samples yet: they are taken every few seconds while the run trains."
        : $"{_count:N0} samples. CPU and memory are process-wide: shared by every run training at the same time and by the dashboard itself; samples/s is this run's own.";

    protected override async Task OnInitializedAsync()
    {
        _layout = NewLayout(60, 120);
        _layout.Height = 280;
        _layout.XAxis = [new XAxis { Domain = [0m, 0.86m] }];
        _layout.YAxis =
        [
            new YAxis { Title = new Plotly.Blazor.LayoutLib.YAxisLib.Title { Text = "CPU % (process)" }, Range = [0, 100] },
            new YAxis { Title = new Plotly.Blazor.LayoutLib.YAxisLib.Title { Text = "samples/s" }, Overlaying = "y", Side = Plotly.Blazor.LayoutLib.YAxisLib.SideEnum.Right, ShowGrid = false, RangeMode = Plotly.Blazor.LayoutLib.YAxisLib.RangeModeEnum.ToZero },
            new YAxis { Title = new Plotly.Blazor.LayoutLib.YAxisLib.Title { Text = "memory MiB (process)" }, Overlaying = "y", Side = Plotly.Blazor.LayoutLib.YAxisLib.SideEnum.Right, Anchor = "free", Position = 1m, ShowGrid = false, RangeMode = Plotly.Blazor.LayoutLib.YAxisLib.RangeModeEnum.ToZero },
        ];

        Subscribe(RunId);
        var stored = await Samples.ListAsync(RunId) ?? [];
        var lastStored = stored.Count > 0 ? stored[^1].Time : DateTime.MinValue;
        List<SystemSampleDto> all = [.. stored, .. _heardWhileLoading.Where(s => s.Time > lastStored)];
        _heardWhileLoading.Clear();
        _count = all.Count;
        _lastTime = all.Count > 0 ? all[^1].Time : DateTime.MinValue;
        _data =
        [
            Line("CPU %", "#2563eb", "y", all, s => s.CpuPercent),
            Line("samples/s", "#16a34a", "y2", all, s => s.SamplesPerSecond),
            Line("memory MiB", "#9333ea", "y3", all, s => s.RssBytes / MiB),
        ];
    }

    protected override Task OnTrainingEventAsync(TrainingEvent trainingEvent)
    {
        if (trainingEvent is not SystemSampleEvent { Sample: var sample })
        {
            return Task.CompletedTask;
        }

        if (_data is null)
        {
            _heardWhileLoading.Add(sample);
            return Task.CompletedTask;
        }

        if (sample.Time <= _lastTime)
        {
            return Task.CompletedTask;
        }

        _lastTime = sample.Time;
        _count++;
        QueuePoint(CpuTrace, sample.Time, sample.CpuPercent);
        QueuePoint(ThroughputTrace, sample.Time, sample.SamplesPerSecond);
        QueuePoint(MemoryTrace, sample.Time, sample.RssBytes / MiB);
        StateHasChanged();
        return Task.CompletedTask;
    }

    private static Scatter Line(string name, string color, string axis, List<SystemSampleDto> samples, Func<SystemSampleDto, double> value) => new()
    {
        Name = name,
        Mode = ModeFlag.Lines,
        X = [.. samples.Select(s => (object)s.Time)],
        Y = [.. samples.Select(s => (object)value(s))],
        YAxis = axis,
        Line = new Line { Color = color, Width = 2 },
    };
}
