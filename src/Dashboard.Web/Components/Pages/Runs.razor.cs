using Microsoft.AspNetCore.Components;

namespace Dashboard.Web.Components.Pages;

public sealed partial class Runs : ComponentBase, IDisposable
{
    private List<RunDto>? _runs;
    private IDisposable? _subscription;

    [Inject]
    public required RunService RunService { get; set; }

    [Inject]
    public required TrainingEventBroadcaster Broadcaster { get; set; }

    protected override async Task OnInitializedAsync()
    {
        _subscription = Broadcaster.Subscribe(OnEventAsync);
        _runs = [.. await RunService.ListAsync()];
    }

    public void Dispose() => _subscription?.Dispose();

    private async Task OnEventAsync(TrainingEvent trainingEvent)
    {
        // Status changes add runs and move them along; epoch events move the epoch and best loss. Progress is too chatty.
        if (trainingEvent is not (RunStatusChangedEvent or EpochCompletedEvent))
        {
            return;
        }

        var run = await RunService.GetAsync(trainingEvent.RunId);
        await InvokeAsync(() =>
        {
            if (run is null || _runs is null)
            {
                return;
            }

            var index = _runs.FindIndex(r => r.Id == run.Id);
            if (index >= 0)
            {
                _runs[index] = run;
            }
            else
            {
                _runs.Insert(0, run);
            }

            StateHasChanged();
        });
    }
}
