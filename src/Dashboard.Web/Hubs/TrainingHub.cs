using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Management;
using Microsoft.AspNetCore.SignalR;

namespace Dashboard.Web.Hubs;

/// <summary>What the hub sends; the method names are the scripting contract's.</summary>
public interface ITrainingClient
{
    Task EpochCompleted(int runId, MetricDto metrics);

    Task RunStatusChanged(int runId, string status);

    /// <summary>Sent only once the checkpoint's files are durable.</summary>
    Task CheckpointSaved(int runId, CheckpointDto checkpoint);

    /// <summary>A checkpoint can no longer be used: removed by retention or a user (status deleted), or found corrupt or missing.</summary>
    Task CheckpointRemoved(int runId, CheckpointDto checkpoint);

    /// <summary>Batch progress of the current epoch, a few times a second.</summary>
    Task EpochProgress(int runId, ProgressDto progress);

    /// <summary>A line added to the run's log, once it is stored (the same fields as a line of <c>/api/runs/{id}/log</c>).</summary>
    Task RunLog(int runId, RunLogLineDto line);

    /// <summary>A system reading of a training run, every few seconds; CPU and memory are process-wide.</summary>
    Task SystemSample(int runId, SystemSampleDto sample);

    /// <summary>The run was deleted with all its rows and files.</summary>
    Task RunDeleted(int runId);

    /// <summary>A user renamed, retagged, annotated, archived or unarchived the run; the run as it now is.</summary>
    Task RunUpdated(int runId, RunDto run);
}

/// <summary><c>/hubs/training</c>: clients follow a run (or all runs) and receive its events, once each.</summary>
public sealed class TrainingHub(RunService runs, HubSubscriptions subscriptions) : Hub<ITrainingClient>
{
    public const string Path = "/hubs/training";

    public async Task JoinRun(int runId)
    {
        if (await runs.GetAsync(runId) is null)
        {
            throw new HubException($"There is no run {runId}.");
        }

        subscriptions.JoinRun(Context.ConnectionId, runId);

        // The connection may have closed while the run was looked up, after its disconnect handler already ran.
        if (Context.ConnectionAborted.IsCancellationRequested)
        {
            subscriptions.Remove(Context.ConnectionId);
        }
    }

    public void LeaveRun(int runId) => subscriptions.LeaveRun(Context.ConnectionId, runId);

    public void JoinAll() => subscriptions.JoinAll(Context.ConnectionId);

    public void LeaveAll() => subscriptions.LeaveAll(Context.ConnectionId);

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        subscriptions.Remove(Context.ConnectionId);
        return base.OnDisconnectedAsync(exception);
    }
}

/// <summary>
/// Forwards broadcaster events to hub clients: the same events the pages see, for external clients. With several web
/// instances each one forwards every event (raised here or relayed from Redis) to its own connections only: the follower
/// table is per instance and a connection lives on one instance, so each client gets each event exactly once. The
/// SignalR backplane only carries those sends (a send to connection ids goes through Redis); no event is sent to a
/// group or to all, which every instance would repeat.
/// </summary>
public sealed class HubRelay(TrainingEventBroadcaster broadcaster, IHubContext<TrainingHub, ITrainingClient> hub, HubSubscriptions subscriptions) : IHostedService, IDisposable
{
    private IDisposable? _subscription;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _subscription = broadcaster.Subscribe(RelayAsync);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        _subscription = null;
    }

    private Task RelayAsync(TrainingEvent trainingEvent)
    {
        // One list of connections, not the run's group plus the all-runs group: a client in both would get each event twice.
        var followers = subscriptions.Followers(trainingEvent.RunId);
        if (followers.Count == 0)
        {
            return Task.CompletedTask;
        }

        var clients = hub.Clients.Clients(followers);
        return trainingEvent switch
        {
            EpochCompletedEvent e => clients.EpochCompleted(e.RunId, e.Metrics),
            RunStatusChangedEvent e => clients.RunStatusChanged(e.RunId, e.Status),
            CheckpointSavedEvent e => clients.CheckpointSaved(e.RunId, e.Checkpoint),
            ProgressEvent e => clients.EpochProgress(e.RunId, e.Progress),
            CheckpointRemovedEvent e => clients.CheckpointRemoved(e.RunId, e.Checkpoint),
            RunLogEvent e => clients.RunLog(e.RunId, e.Line),
            SystemSampleEvent e => clients.SystemSample(e.RunId, e.Sample),
            RunDeletedEvent e => clients.RunDeleted(e.RunId),
            RunUpdatedEvent e => clients.RunUpdated(e.RunId, e.Run),
            _ => Task.CompletedTask,
        };
    }
}
