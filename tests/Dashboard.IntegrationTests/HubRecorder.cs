using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Microsoft.AspNetCore.SignalR.Client;

namespace Dashboard.IntegrationTests;

/// <summary>One event as the client received it. <paramref name="Observation"/> is what a check saw at the moment of arrival.</summary>
public sealed record HubEvent(string Name, int RunId, object Payload, string? Observation = null)
{
    public override string ToString() => $"{Name}({RunId}, {Payload}){(Observation is null ? "" : $" [{Observation}]")}";
}

/// <summary>
/// A client of <c>/hubs/training</c> that records every event in arrival order and lets a test wait for a condition on
/// them, without sleeps.
/// </summary>
public sealed class HubRecorder : IAsyncDisposable
{
    public const string EpochCompleted = nameof(EpochCompleted);
    public const string RunStatusChanged = nameof(RunStatusChanged);
    public const string CheckpointSaved = nameof(CheckpointSaved);
    public const string EpochProgress = nameof(EpochProgress);
    public const string RunDeleted = nameof(RunDeleted);
    public const string RunUpdated = nameof(RunUpdated);
    public const string SystemSample = nameof(SystemSample);

    private readonly Lock _lock = new();
    private readonly List<HubEvent> _events = [];
    private readonly Func<CheckpointDto, string?>? _inspectCheckpoint;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private HubRecorder(HubConnection connection, Func<CheckpointDto, string?>? inspectCheckpoint)
    {
        Connection = connection;
        _inspectCheckpoint = inspectCheckpoint;
        connection.On<int, MetricDto>(EpochCompleted, (runId, metrics) => Record(new HubEvent(EpochCompleted, runId, metrics)));
        connection.On<int, string>(RunStatusChanged, (runId, status) => Record(new HubEvent(RunStatusChanged, runId, status)));
        connection.On<int, ProgressDto>(EpochProgress, (runId, progress) => Record(new HubEvent(EpochProgress, runId, progress)));
        connection.On<int, SystemSampleDto>(SystemSample, (runId, sample) => Record(new HubEvent(SystemSample, runId, sample)));
        connection.On<int>(RunDeleted, runId => Record(new HubEvent(RunDeleted, runId, runId)));
        connection.On<int, RunDto>(RunUpdated, (runId, run) => Record(new HubEvent(RunUpdated, runId, run)));
        connection.On<int, CheckpointDto>(CheckpointSaved, (runId, checkpoint) =>
            Record(new HubEvent(CheckpointSaved, runId, checkpoint, _inspectCheckpoint?.Invoke(checkpoint))));
    }

    public HubConnection Connection { get; }

    /// <param name="inspectCheckpoint">Runs inside the handler as each <c>CheckpointSaved</c> arrives; its answer is kept with the event.</param>
    public static async Task<HubRecorder> ConnectAsync(DashboardServer server, Func<CheckpointDto, string?>? inspectCheckpoint = null)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(server.BaseAddress, "hubs/training"))
            .Build();
        var recorder = new HubRecorder(connection, inspectCheckpoint);
        await connection.StartAsync();
        return recorder;
    }

    public IReadOnlyList<HubEvent> EventsOf(int runId)
    {
        lock (_lock)
        {
            return [.. _events.Where(e => e.RunId == runId)];
        }
    }

    public IReadOnlyList<HubEvent> AllEvents()
    {
        lock (_lock)
        {
            return [.. _events];
        }
    }

    /// <summary>Waits until the events of <paramref name="runId"/> satisfy <paramref name="done"/>; returns them.</summary>
    public async Task<IReadOnlyList<HubEvent>> WaitForAsync(int runId, Func<IReadOnlyList<HubEvent>, bool> done, TimeSpan timeout, string description)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            Task changed;
            IReadOnlyList<HubEvent> events;
            lock (_lock)
            {
                changed = _changed.Task;
                events = [.. _events.Where(e => e.RunId == runId)];
            }

            if (done(events))
            {
                return events;
            }

            try
            {
                await changed.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException(
                    $"Timed out after {timeout.TotalSeconds:0} s waiting for {description}. Events of run {runId} so far:{Environment.NewLine}"
                    + string.Join(Environment.NewLine, events.Where(e => e.Name != EpochProgress)));
            }
        }
    }

    /// <summary>Waits for the run's final status change (completed, stopped, interrupted, failed).</summary>
    public Task<IReadOnlyList<HubEvent>> WaitForFinalStatusAsync(int runId, TimeSpan timeout) =>
        WaitForAsync(
            runId,
            events => events.Any(e => e.Name == RunStatusChanged && e.Payload is "completed" or "stopped" or "interrupted" or "failed"),
            timeout,
            $"a final RunStatusChanged of run {runId}");

    public async ValueTask DisposeAsync() => await Connection.DisposeAsync();

    private void Record(HubEvent hubEvent)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            _events.Add(hubEvent);
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }
}
