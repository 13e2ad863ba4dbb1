using Dashboard.Runs.Events;
using Microsoft.AspNetCore.Components;

namespace Dashboard.Web.Components.Pages;

/// <summary>The run page while the live feed from other processes (Redis) is down, and once it is back.</summary>
public sealed partial class RunDetail
{
    [Inject]
    public required LiveFeedState Feed { get; set; }

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
        await OnParametersSetAsync();
    }
}
