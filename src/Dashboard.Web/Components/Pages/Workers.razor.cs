using Dashboard.Runs.Events;
using Dashboard.Runs.Workers;
using Microsoft.AspNetCore.Components;

namespace Dashboard.Web.Components.Pages;

/// <summary>
/// The Workers page: every registered worker, reread on a timer (heartbeats are not events) and at once when a run starts
/// or ends (its "runs" column changes then).
/// </summary>
public sealed partial class Workers : ComponentBase, IDisposable
{
    /// <summary>How often the list is reread; a heartbeat comes every few seconds.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _closing = new();
    private IReadOnlyList<WorkerDto>? _workers;
    private IDisposable? _subscription;
    private string? _error;

    [Inject]
    public required WorkerRegistry Registry { get; set; }

    [Inject]
    public required TrainingEventBroadcaster Broadcaster { get; set; }

    [Inject]
    public required TimeProvider Clock { get; set; }

    protected override async Task OnInitializedAsync()
    {
        _subscription = Broadcaster.Subscribe(e => e is RunStatusChangedEvent ? InvokeAsync(RefreshAsync) : Task.CompletedTask);
        await LoadAsync();
        _ = RefreshLoopAsync(_closing.Token);
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        _closing.Cancel();
        _closing.Dispose();
    }

    private async Task LoadAsync()
    {
        try
        {
            _workers = await Registry.ListAsync(_closing.Token);
            _error = null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The last list stays on screen; the message says it may be stale.
            _error = $"The workers could not be read: {e.Message}";
        }
    }

    private async Task RefreshAsync()
    {
        await LoadAsync();
        StateHasChanged();
    }

    private async Task RefreshLoopAsync(CancellationToken closing)
    {
        using var timer = new PeriodicTimer(RefreshInterval, Clock);
        try
        {
            while (await timer.WaitForNextTickAsync(closing))
            {
                await InvokeAsync(RefreshAsync);
            }
        }
        catch (OperationCanceledException)
        {
            // The page closed.
        }
    }

    private string Ago(DateTime time)
    {
        var age = Clock.GetUtcNow().UtcDateTime - time;
        return age.TotalSeconds < 60 ? $"{Math.Max(0, (int)age.TotalSeconds)} s ago" : age.TotalMinutes < 60 ? $"{(int)age.TotalMinutes} min ago" : time.ToString("u");
    }
}
