using Dashboard.Runs.Events;

namespace Dashboard.Runs.Resilience;

/// <summary>
/// The one writer of <see cref="LiveFeedState.DatabaseReachable"/>: the retry of a run's writes (in a process that trains)
/// and the probe (<see cref="DatabaseProbe"/>, in a web process, which may train nothing) both report here, so pages hear
/// of each change once, as a <see cref="LiveFeedChangedEvent"/>, whichever of them saw it. Local to this process: another's
/// database link is its own business, so the event is published as relayed (never forwarded to Redis).
/// </summary>
public sealed class DatabaseReachability(LiveFeedState feed, TrainingEventBroadcaster broadcaster)
{
    private readonly Lock _lock = new();

    public bool Reachable => feed.DatabaseReachable;

    /// <summary>Records what a database call just found; returns true when that changed the state (and pages were told).</summary>
    public bool Report(bool reachable)
    {
        // Two reporters may race (a write's retry and the probe): the check and the set are one step, so one change is
        // published once.
        lock (_lock)
        {
            if (feed.DatabaseReachable == reachable)
            {
                return false;
            }

            feed.DatabaseReachable = reachable;
        }

        broadcaster.PublishRelayed(new LiveFeedChangedEvent(feed.Connected && reachable));
        return true;
    }
}
