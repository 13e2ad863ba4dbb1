namespace Dashboard.Runs.Events;

/// <summary>
/// Whether events raised in other processes reach this one now. Always true in a single process; a relay between
/// processes (Redis) sets it, and publishes <see cref="LiveFeedChangedEvent"/> when it changes. Pages read it when they
/// open, so one opened during an outage says so too.
/// </summary>
public sealed class LiveFeedState
{
    private volatile bool _connected = true;
    private volatile bool _databaseReachable = true;

    public bool Connected
    {
        get => _connected;
        set => _connected = value;
    }

    /// <summary>
    /// False while this process finds the database unreachable: its run writes waiting it out, or its probe unanswered
    /// (a web instance that trains nothing). Set only through <c>DatabaseReachability</c>, which publishes
    /// <see cref="LiveFeedChangedEvent"/> on each change.
    /// </summary>
    public bool DatabaseReachable
    {
        get => _databaseReachable;
        set => _databaseReachable = value;
    }
}
