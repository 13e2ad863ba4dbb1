namespace Dashboard.Web.Hubs;

/// <summary>
/// Which hub connections follow which runs. SignalR groups cannot do this job: a connection in a run's group and in
/// the all-runs group receives a message sent to both groups twice, and no group operation subtracts one from the
/// other. So the relay asks here for the set of connections that follow a run, each named once.
/// </summary>
public sealed class HubSubscriptions
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Subscription> _connections = new(StringComparer.Ordinal);

    public void JoinRun(string connectionId, int runId)
    {
        lock (_lock)
        {
            Of(connectionId).Runs.Add(runId);
        }
    }

    public void LeaveRun(string connectionId, int runId)
    {
        lock (_lock)
        {
            if (_connections.TryGetValue(connectionId, out var subscription))
            {
                subscription.Runs.Remove(runId);
                Forget(connectionId, subscription);
            }
        }
    }

    public void JoinAll(string connectionId)
    {
        lock (_lock)
        {
            Of(connectionId).All = true;
        }
    }

    public void LeaveAll(string connectionId)
    {
        lock (_lock)
        {
            if (_connections.TryGetValue(connectionId, out var subscription))
            {
                subscription.All = false;
                Forget(connectionId, subscription);
            }
        }
    }

    /// <summary>A closed connection follows nothing any more.</summary>
    public void Remove(string connectionId)
    {
        lock (_lock)
        {
            _connections.Remove(connectionId);
        }
    }

    /// <summary>The connections that follow <paramref name="runId"/>, through the run itself or all runs, each once.</summary>
    public IReadOnlyList<string> Followers(int runId)
    {
        lock (_lock)
        {
            return [.. _connections.Where(c => c.Value.All || c.Value.Runs.Contains(runId)).Select(c => c.Key)];
        }
    }

    private Subscription Of(string connectionId)
    {
        if (!_connections.TryGetValue(connectionId, out var subscription))
        {
            subscription = new Subscription();
            _connections[connectionId] = subscription;
        }

        return subscription;
    }

    /// <summary>Keeps the table to connections that follow something.</summary>
    private void Forget(string connectionId, Subscription subscription)
    {
        if (!subscription.All && subscription.Runs.Count == 0)
        {
            _connections.Remove(connectionId);
        }
    }

    private sealed class Subscription
    {
        public bool All { get; set; }

        public HashSet<int> Runs { get; } = [];
    }
}
