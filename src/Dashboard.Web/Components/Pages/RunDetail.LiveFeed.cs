using Dashboard.Runs.Events;
using Dashboard.Runs.Resilience;
using Microsoft.AspNetCore.Components;

namespace Dashboard.Web.Components.Pages;

/// <summary>
/// The run page while the live feed from other processes (Redis) or the database is down, and once it is back.
/// </summary>
public sealed partial class RunDetail
{
    /// <summary>How often a page that could not read the database tries again.</summary>
    private static readonly TimeSpan ReloadInterval = TimeSpan.FromSeconds(3);

    private readonly CancellationTokenSource _closed = new();
    private bool _databaseDown;
    private bool _waitingForDatabase;
    private IDisposable? _watch;

    [Inject]
    public required LiveFeedState Feed { get; set; }

    /// <summary>Probes the database while a page is open, so this one says "reconnecting" even where nothing trains.</summary>
    [Inject]
    public required DatabaseProbe Probe { get; set; }

    protected override void OnInitialized() => _watch = Probe.Watch();

    /// <summary>
    /// Down: the page says "reconnecting" (the markup reads <see cref="Feed"/>). Back: events raised elsewhere meanwhile
    /// are not replayed, so the page reads the run, its metrics and checkpoints from the database again; the chart goes
    /// and comes back, since it reads its history only when it is created.
    /// </summary>
    private async Task OnFeedChangedAsync(LiveFeedChangedEvent changed)
    {
        if (!changed.Connected)
        {
            return;
        }

        _loaded = false;
        StateHasChanged();
        await LoadOrWaitAsync();
    }

    /// <summary>
    /// Reads the page from the database; while it is unreachable the page says so (instead of the circuit failing) and
    /// tries again every few seconds until it loads or is closed.
    /// </summary>
    private async Task LoadOrWaitAsync()
    {
        if (!await TryLoadAsync() && !_waitingForDatabase)
        {
            _waitingForDatabase = true;
            _ = ReloadWhenBackAsync();
        }
    }

    private async Task<bool> TryLoadAsync()
    {
        try
        {
            await LoadAsync();
            _databaseDown = false;
            return true;
        }
        catch (Exception e) when (DatabaseErrors.IsTransient(e))
        {
            _databaseDown = true;
            Probe.Suspect();
            return false;
        }
    }

    private async Task ReloadWhenBackAsync()
    {
        try
        {
            while (_databaseDown)
            {
                await Task.Delay(ReloadInterval, _closed.Token);
                await InvokeAsync(async () =>
                {
                    await TryLoadAsync();
                    StateHasChanged();
                });
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // The page was closed.
        }
        finally
        {
            _waitingForDatabase = false;
        }
    }
}
