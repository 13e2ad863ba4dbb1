using Dashboard.Runs.Events;

namespace Dashboard.ComponentTests.Support;

/// <summary>What one subscriber of the broadcaster heard, in order, for a test that checks what was published and when.</summary>
public sealed class HeardEvents : IDisposable
{
    /// <summary>No run has this id, so the marker is nobody's news.</summary>
    private const int MarkerRunId = -1;

    private readonly TrainingEventBroadcaster _broadcaster;
    private readonly List<TrainingEvent> _events = [];
    private readonly IDisposable _subscription;
    private TaskCompletionSource _marker = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public HeardEvents(TrainingEventBroadcaster broadcaster)
    {
        _broadcaster = broadcaster;
        _subscription = broadcaster.Subscribe(e =>
        {
            if (e is RunDeletedEvent { RunId: MarkerRunId })
            {
                Volatile.Read(ref _marker).TrySetResult();
            }
            else
            {
                lock (_events)
                {
                    _events.Add(e);
                }
            }

            return Task.CompletedTask;
        });
    }

    /// <summary>
    /// Everything published before the call, in the order heard: events reach a subscriber in publication order, so once
    /// a marker published now is heard, every event published before it was too.
    /// </summary>
    public async Task<IReadOnlyList<TrainingEvent>> UpToNowAsync()
    {
        var marker = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _marker, marker);
        _broadcaster.Publish(new RunDeletedEvent(MarkerRunId));
        await marker.Task.WaitAsync(TimeSpan.FromSeconds(30));
        lock (_events)
        {
            return [.. _events];
        }
    }

    public void Dispose() => _subscription.Dispose();
}
