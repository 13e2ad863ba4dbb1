using System.Threading.Channels;
using Dashboard.Runs.Contracts;

namespace Dashboard.Runs.Events;

public abstract record TrainingEvent(int RunId);

public sealed record EpochCompletedEvent(int RunId, MetricDto Metrics) : TrainingEvent(RunId);

public sealed record RunStatusChangedEvent(int RunId, string Status) : TrainingEvent(RunId)
{
    /// <summary>The run is queued or training (the hub sends only the status, so pages need no status names).</summary>
    public bool IsActive => Dashboard.Data.Entities.RunStatus.IsActive(Status);
}

public sealed record CheckpointSavedEvent(int RunId, CheckpointDto Checkpoint) : TrainingEvent(RunId);

/// <summary>
/// A checkpoint can no longer be used: its files were removed (by retention or a user; the row stays as deleted), or
/// reading it found them corrupt or missing.
/// </summary>
public sealed record CheckpointRemovedEvent(int RunId, CheckpointDto Checkpoint) : TrainingEvent(RunId);

/// <summary>A line was added to the run's log (sent once it is stored).</summary>
public sealed record RunLogEvent(int RunId, RunLogLineDto Line) : TrainingEvent(RunId);

public sealed record ProgressEvent(int RunId, ProgressDto Progress) : TrainingEvent(RunId);

/// <summary>A system reading stored for a run while it trains (CPU and memory are process-wide).</summary>
public sealed record SystemSampleEvent(int RunId, SystemSampleDto Sample) : TrainingEvent(RunId);

/// <summary>The run and its rows are gone (published after the deletion committed), so open pages drop it.</summary>
public sealed record RunDeletedEvent(int RunId) : TrainingEvent(RunId);

/// <summary>A user changed the run's name, tags, notes or archived flag; the run as it now is.</summary>
public sealed record RunUpdatedEvent(int RunId, RunDto Run) : TrainingEvent(RunId);

/// <summary>
/// The live feed from other processes (Redis) went down or came back; not about one run, so every subscriber gets it.
/// Pages say "reconnecting" while it is down and reload what they show from the database when it is back, since events
/// raised elsewhere in between are not replayed.
/// </summary>
public sealed record LiveFeedChangedEvent(bool Connected) : TrainingEvent(0);

/// <summary>
/// The one in-process fan-out of training events: the engine's observer publishes, the hub relay and Blazor components
/// subscribe. Each subscriber has its own queue and pump, so it sees events in publication order and a slow one never
/// holds up training or the others.
/// </summary>
public sealed class TrainingEventBroadcaster(ILogger<TrainingEventBroadcaster> logger)
{
    private readonly Lock _lock = new();
    private Subscription[] _subscriptions = [];

    /// <param name="runId">Only events of this run; null for all runs.</param>
    public IDisposable Subscribe(Func<TrainingEvent, Task> handler, int? runId = null) => Add(handler, runId, raisedHereOnly: false);

    /// <summary>
    /// Only the events raised in this process, not those <see cref="PublishRelayed">relayed</see> from another: for the
    /// hook that forwards them out (to Redis), which must not send an event back where it came from.
    /// </summary>
    public IDisposable SubscribeRaisedHere(Func<TrainingEvent, Task> handler) => Add(handler, runId: null, raisedHereOnly: true);

    public void Publish(TrainingEvent trainingEvent) => Deliver(trainingEvent, relayed: false);

    /// <summary>An event raised in another process (received from Redis): delivered here, never forwarded out again.</summary>
    public void PublishRelayed(TrainingEvent trainingEvent) => Deliver(trainingEvent, relayed: true);

    internal int SubscriberCount => Volatile.Read(ref _subscriptions).Length;

    private IDisposable Add(Func<TrainingEvent, Task> handler, int? runId, bool raisedHereOnly)
    {
        var subscription = new Subscription(this, handler, runId, raisedHereOnly, logger);
        lock (_lock)
        {
            _subscriptions = [.. _subscriptions, subscription];
        }

        return subscription;
    }

    private void Deliver(TrainingEvent trainingEvent, bool relayed)
    {
        foreach (var subscription in Volatile.Read(ref _subscriptions))
        {
            if ((subscription.RunId is null || subscription.RunId == trainingEvent.RunId || trainingEvent is LiveFeedChangedEvent)
                && !(relayed && subscription.RaisedHereOnly))
            {
                subscription.Post(trainingEvent);
            }
        }
    }

    private void Remove(Subscription subscription)
    {
        lock (_lock)
        {
            _subscriptions = [.. _subscriptions.Where(s => s != subscription)];
        }
    }

    private sealed class Subscription : IDisposable
    {
        private readonly TrainingEventBroadcaster _owner;
        private readonly Func<TrainingEvent, Task> _handler;
        private readonly ILogger _logger;
        private readonly Channel<TrainingEvent> _queue = Channel.CreateUnbounded<TrainingEvent>(new() { SingleReader = true });

        public Subscription(TrainingEventBroadcaster owner, Func<TrainingEvent, Task> handler, int? runId, bool raisedHereOnly, ILogger logger)
        {
            _owner = owner;
            _handler = handler;
            _logger = logger;
            RunId = runId;
            RaisedHereOnly = raisedHereOnly;
            _ = Task.Run(PumpAsync);
        }

        public int? RunId { get; }

        public bool RaisedHereOnly { get; }

        public void Post(TrainingEvent trainingEvent) => _queue.Writer.TryWrite(trainingEvent);

        public void Dispose()
        {
            _owner.Remove(this);
            _queue.Writer.TryComplete();
        }

        private async Task PumpAsync()
        {
            await foreach (var trainingEvent in _queue.Reader.ReadAllAsync())
            {
                try
                {
                    await _handler(trainingEvent);
                }
                catch (Exception e)
                {
                    // One failing subscriber (a closed circuit, a dropped connection) must not stop its own later events.
                    _logger.LogWarning(e, "A subscriber failed on {Event} of run {RunId}.", trainingEvent.GetType().Name, trainingEvent.RunId);
                }
            }
        }
    }
}
