using Dashboard.Runs.Events;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dashboard.ComponentTests.Services;

/// <summary>The broadcaster's hooks for a relay between processes: what goes out, and what never comes back out.</summary>
public sealed class BroadcasterRelayTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task PublishRelayed_RaisedHereSubscriber_GetsOnlyLocalEventsWhileOthersGetBoth()
    {
        var broadcaster = new TrainingEventBroadcaster(NullLogger<TrainingEventBroadcaster>.Instance);
        var outbound = new Recorder();
        var page = new Recorder();
        using var forward = broadcaster.SubscribeRaisedHere(outbound.Record);
        using var local = broadcaster.Subscribe(page.Record, runId: 1);

        broadcaster.PublishRelayed(new RunDeletedEvent(1));
        broadcaster.Publish(new RunStatusChangedEvent(1, "running"));

        // Per subscriber, events keep publication order: once the local one is seen, the relayed one was passed over.
        await outbound.WaitForAsync(1);
        await page.WaitForAsync(2);
        Assert.Equal([typeof(RunStatusChangedEvent)], outbound.Types);
        Assert.Equal([typeof(RunDeletedEvent), typeof(RunStatusChangedEvent)], page.Types);
    }

    [Fact]
    public async Task PublishRelayed_LiveFeedChanged_ReachesSubscribersOfEveryRun()
    {
        var broadcaster = new TrainingEventBroadcaster(NullLogger<TrainingEventBroadcaster>.Instance);
        var runPage = new Recorder();
        using var subscription = broadcaster.Subscribe(runPage.Record, runId: 42);

        broadcaster.PublishRelayed(new LiveFeedChangedEvent(false));
        broadcaster.Publish(new RunDeletedEvent(7));
        broadcaster.Publish(new RunDeletedEvent(42));

        await runPage.WaitForAsync(2);
        Assert.Equal([typeof(LiveFeedChangedEvent), typeof(RunDeletedEvent)], runPage.Types);
        Assert.Equal(42, runPage.Events[1].RunId);
    }

    private sealed class Recorder
    {
        private readonly List<TrainingEvent> _events = [];
        private readonly SemaphoreSlim _arrived = new(0);

        public IReadOnlyList<TrainingEvent> Events
        {
            get
            {
                lock (_events)
                {
                    return [.. _events];
                }
            }
        }

        public IReadOnlyList<Type> Types => [.. Events.Select(e => e.GetType())];

        public Task Record(TrainingEvent trainingEvent)
        {
            lock (_events)
            {
                _events.Add(trainingEvent);
            }

            _arrived.Release();
            return Task.CompletedTask;
        }

        public async Task WaitForAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                Assert.True(await _arrived.WaitAsync(Wait), $"Only {i} of {count} events arrived: {string.Join(", ", Types.Select(t => t.Name))}");
            }

            // Anything published after these and wrongly delivered would show up within the same pump pass; none may.
            await Task.Delay(100);
        }
    }
}
