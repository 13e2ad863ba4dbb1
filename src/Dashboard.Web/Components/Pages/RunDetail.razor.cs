using Dashboard.Data.Entities;
using Dashboard.Web.Components.Controls;
using Microsoft.AspNetCore.Components;

namespace Dashboard.Web.Components.Pages;

public sealed partial class RunDetail : ComponentBase, IDisposable
{
    private RunDto? _run;
    private List<MetricDto> _metrics = [];
    private List<CheckpointDto> _checkpoints = [];
    private ProgressDto? _progress;
    private TrainingChart? _chart;
    private IDisposable? _subscription;
    private bool _notFound;
    private bool _loaded;
    private bool _stopping;
    private string? _message;

    [Parameter]
    public int RunId { get; set; }

    [Inject]
    public required RunService RunService { get; set; }

    [Inject]
    public required TrainingEventBroadcaster Broadcaster { get; set; }

    protected override async Task OnParametersSetAsync()
    {
        _subscription?.Dispose();

        // The chart reads its history only when it is created, so it must not be rendered before the history is here;
        // events handled meanwhile (progress comes several times a second) would otherwise render it empty.
        _loaded = false;

        // Subscribe before reading, so nothing published in between is lost; the chart ignores what it already has.
        _subscription = Broadcaster.Subscribe(OnEventAsync, RunId);
        _run = await RunService.GetAsync(RunId);
        _notFound = _run is null;
        if (_run is not null)
        {
            _metrics = [.. await RunService.MetricsAsync(RunId) ?? []];
            _checkpoints = [.. await RunService.CheckpointsAsync(RunId) ?? []];
        }

        _loaded = true;
    }

    public void Dispose() => _subscription?.Dispose();

    private Task OnEventAsync(TrainingEvent trainingEvent) => InvokeAsync(async () =>
    {
        switch (trainingEvent)
        {
            case EpochCompletedEvent e:
                if (_metrics.Count == 0 || e.Metrics.Epoch > _metrics[^1].Epoch)
                {
                    _metrics.Add(e.Metrics);
                }

                _chart?.AddEpoch(e.Metrics);
                _run = await RunService.GetAsync(RunId) ?? _run;
                break;
            case CheckpointSavedEvent e:
                if (!_checkpoints.Exists(c => c.Id == e.Checkpoint.Id))
                {
                    _checkpoints.Add(e.Checkpoint);
                }

                _chart?.AddCheckpoint(e.Checkpoint);
                break;
            case ProgressEvent e:
                _progress = e.Progress;
                break;
            case RunStatusChangedEvent e:
                _run = await RunService.GetAsync(RunId) ?? _run;
                if (!RunStatus.IsActive(e.Status))
                {
                    _progress = null;
                    _stopping = false;
                }

                break;
        }

        StateHasChanged();
    });

    private async Task StopAsync()
    {
        _stopping = true;
        var result = await RunService.StopAsync(RunId);
        _message = result.Succeeded ? "Stopping after the current batch; a checkpoint is being written." : result.Problem;
        if (!result.Succeeded)
        {
            _stopping = false;
        }
    }

    internal static string FormatBytes(long bytes) => bytes switch
    {
        >= 1 << 30 => $"{bytes / (double)(1 << 30):F1} GiB",
        >= 1 << 20 => $"{bytes / (double)(1 << 20):F1} MiB",
        >= 1 << 10 => $"{bytes / (double)(1 << 10):F1} KiB",
        _ => $"{bytes} B",
    };
}
