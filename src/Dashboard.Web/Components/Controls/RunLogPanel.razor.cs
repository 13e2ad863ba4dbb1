using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Logging;
using Microsoft.AspNetCore.Components;

namespace Dashboard.Web.Components.Controls;

/// <summary>
/// A run's log, read through the same <see cref="RunLog"/> the API uses, then followed live: lines heard from the
/// broadcaster are queued and shown together once per <see cref="LiveChartBase.FlushInterval"/>, like the charts' points,
/// so a run that logs fast does not re-render the page per line. The page keeps its newest <see cref="MaxShown"/> lines.
/// </summary>
public sealed partial class RunLogPanel : ComponentBase, IAsyncDisposable
{
    /// <summary>Lines the page holds; older ones are counted and left to the download.</summary>
    public const int MaxShown = 1000;

    private readonly Lock _pendingLock = new();
    private List<RunLogLineDto> _pending = [];
    private List<RunLogLineDto> _lines = [];
    private IDisposable? _subscription;
    private PeriodicTimer? _timer;
    private Task? _flushLoop;
    private int _dropped;
    private string? _error;

    [Inject]
    public required RunLog Log { get; set; }

    [Inject]
    public required TrainingEventBroadcaster Broadcaster { get; set; }

    [Parameter]
    [EditorRequired]
    public int RunId { get; set; }

    /// <summary>Shown opened; closed by default so the checkpoints stay near the chart.</summary>
    [Parameter]
    public bool Open { get; set; }

    protected override async Task OnInitializedAsync()
    {
        // Listening before reading: a line stored while the history is read is in one or the other, and the id merges them.
        _subscription = Broadcaster.Subscribe(OnEventAsync, RunId);
        try
        {
            var history = new List<RunLogLineDto>();
            await foreach (var line in Log.ReadAsync(RunId, new RunLogQuery()))
            {
                history.Add(line);
            }

            Show(history);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _error = $"The log could not be read: {e.Message}";
        }

        _timer = new PeriodicTimer(LiveChartBase.FlushInterval);
        _flushLoop = FlushLoopAsync(_timer);
    }

    private Task OnEventAsync(TrainingEvent trainingEvent)
    {
        if (trainingEvent is RunLogEvent { Line: var line })
        {
            lock (_pendingLock)
            {
                _pending.Add(line);
            }
        }

        return Task.CompletedTask;
    }

    private async Task FlushLoopAsync(PeriodicTimer timer)
    {
        while (await timer.WaitForNextTickAsync())
        {
            List<RunLogLineDto> arrived;
            lock (_pendingLock)
            {
                if (_pending.Count == 0)
                {
                    continue;
                }

                (arrived, _pending) = (_pending, []);
            }

            await InvokeAsync(() =>
            {
                Show(arrived);
                StateHasChanged();
            });
        }
    }

    /// <summary>Adds lines not shown yet, in id order, keeping the newest <see cref="MaxShown"/>.</summary>
    private void Show(IEnumerable<RunLogLineDto> lines)
    {
        var last = _lines.Count == 0 ? 0 : _lines[^1].Id;
        var merged = _lines.Concat(lines.Where(l => l.Id > last).OrderBy(l => l.Id)).ToList();
        var excess = Math.Max(0, merged.Count - MaxShown);
        _dropped += excess;
        _lines = merged.GetRange(excess, merged.Count - excess);
    }

    private string Summary()
    {
        var errors = _lines.Count(l => l.IsError);
        var warnings = _lines.Count(l => l.IsWarning);
        return $"{_lines.Count + _dropped} line(s), {warnings} warning(s), {errors} error(s)";
    }

    public async ValueTask DisposeAsync()
    {
        _subscription?.Dispose();
        _timer?.Dispose();
        if (_flushLoop is not null)
        {
            await _flushLoop;
        }
    }
}
