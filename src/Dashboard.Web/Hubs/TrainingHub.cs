using Dashboard.Web.Contracts;
using Dashboard.Web.Services;
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
}

/// <summary><c>/hubs/training</c>: clients join a run's group (or all runs) and receive its events.</summary>
public sealed class TrainingHub(RunService runs) : Hub<ITrainingClient>
{
    public const string Path = "/hubs/training";
    public const string AllRunsGroup = "runs-all";

    public static string RunGroup(int runId) => $"run-{runId}";

    public async Task JoinRun(int runId)
    {
        if (await runs.GetAsync(runId) is null)
        {
            throw new HubException($"There is no run {runId}.");
        }

        await Groups.AddToGroupAsync(Context.ConnectionId, RunGroup(runId));
    }

    public Task LeaveRun(int runId) => Groups.RemoveFromGroupAsync(Context.ConnectionId, RunGroup(runId));

    public Task JoinAll() => Groups.AddToGroupAsync(Context.ConnectionId, AllRunsGroup);

    public Task LeaveAll() => Groups.RemoveFromGroupAsync(Context.ConnectionId, AllRunsGroup);
}

/// <summary>Forwards broadcaster events to hub clients: the same events the pages see, for external clients.</summary>
public sealed class HubRelay(TrainingEventBroadcaster broadcaster, IHubContext<TrainingHub, ITrainingClient> hub) : IHostedService, IDisposable
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
        var clients = hub.Clients.Groups(TrainingHub.RunGroup(trainingEvent.RunId), TrainingHub.AllRunsGroup);
        return trainingEvent switch
        {
            EpochCompletedEvent e => clients.EpochCompleted(e.RunId, e.Metrics),
            RunStatusChangedEvent e => clients.RunStatusChanged(e.RunId, e.Status),
            CheckpointSavedEvent e => clients.CheckpointSaved(e.RunId, e.Checkpoint),
            ProgressEvent e => clients.EpochProgress(e.RunId, e.Progress),
            CheckpointRemovedEvent e => clients.CheckpointRemoved(e.RunId, e.Checkpoint),
            _ => Task.CompletedTask,
        };
    }
}
