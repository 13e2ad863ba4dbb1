using System.Threading.Channels;
using Dashboard.Runs.Events;
using StackExchange.Redis;

namespace Dashboard.Redis;

/// <summary>
/// Joins this process's broadcaster to every other process's over one Redis channel. Out: each event raised here is
/// queued (bounded, never waited on, so training never blocks on Redis) and published by one pump, in order. In: each
/// message from another origin is published into the local broadcaster as relayed, so pages and the hub relay of this
/// process see it and it is never sent back out. While the link is down, outgoing events are dropped and counted, and
/// pages are told (<see cref="LiveFeedChangedEvent"/>) so they say "reconnecting" and reload from the database after.
/// </summary>
public sealed class RedisEventRelay(
    RedisLink link,
    TrainingEventBroadcaster broadcaster,
    LiveFeedState feed,
    ILogger<RedisEventRelay> logger) : BackgroundService
{
    /// <summary>Events waiting to be published; past this, new ones are dropped (a stalled Redis must not grow memory).</summary>
    public const int QueueCapacity = 10_000;

    private static readonly TimeSpan DropReportInterval = TimeSpan.FromSeconds(10);

    private readonly Channel<string> _outgoing = Channel.CreateBounded<string>(
        new BoundedChannelOptions(QueueCapacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });

    private long _dropped;
    private long _reportedDropped;
    private long _rejected;
    private DateTime _lastDropReport = DateTime.MinValue;

    /// <summary>Events not published (queue full, or Redis unreachable) since the process started.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var outbound = broadcaster.SubscribeRaisedHere(Enqueue);
        var connection = await link.ConnectAsync(stoppingToken);
        connection.ConnectionFailed += OnConnectionFailed;
        connection.ConnectionRestored += OnConnectionRestored;
        try
        {
            SetFeed(connection.IsConnected);
            await SubscribeAsync(connection, stoppingToken);
            await PumpAsync(connection, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
        finally
        {
            connection.ConnectionFailed -= OnConnectionFailed;
            connection.ConnectionRestored -= OnConnectionRestored;
        }
    }

    private Task Enqueue(TrainingEvent trainingEvent)
    {
        if (!TrainingEventCodec.Types.ContainsKey(trainingEvent.GetType().Name))
        {
            return Task.CompletedTask;
        }

        if (!_outgoing.Writer.TryWrite(TrainingEventCodec.Encode(trainingEvent, link.Origin)))
        {
            CountDrop("the outgoing queue is full");
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Subscribes once; the multiplexer subscribes again by itself after every reconnect. Retried until it takes, since
    /// Redis may be down when this process starts.
    /// </summary>
    private async Task SubscribeAsync(IConnectionMultiplexer connection, CancellationToken stoppingToken)
    {
        for (var delay = TimeSpan.FromMilliseconds(250); ; delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks)))
        {
            try
            {
                var queue = await connection.GetSubscriber().SubscribeAsync(link.Channel);
                queue.OnMessage(Receive);
                return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                logger.LogWarning("Could not subscribe to the Redis event channel yet: {Message}", e.Message);
                await Task.Delay(delay, stoppingToken);
            }
        }
    }

    private void Receive(ChannelMessage message)
    {
        if (TrainingEventCodec.Decode(message.Message.ToString(), out var problem) is not { } decoded)
        {
            // Anyone who can reach Redis can publish here: a bad message is logged (a few) and skipped, never fatal.
            if (Interlocked.Increment(ref _rejected) <= 10)
            {
                logger.LogWarning("Skipped a message on the Redis event channel: {Problem}", problem);
            }

            return;
        }

        if (decoded.Origin != link.Origin)
        {
            broadcaster.PublishRelayed(decoded.Event);
        }
    }

    private async Task PumpAsync(IConnectionMultiplexer connection, CancellationToken stoppingToken)
    {
        var publisher = connection.GetSubscriber();
        await foreach (var message in _outgoing.Reader.ReadAllAsync(stoppingToken))
        {
            // Fail fast while the link is down (the multiplexer would otherwise hold the command until a timeout): the
            // event is not replayed later, pages elsewhere catch up from the database once the link is back.
            if (!connection.IsConnected)
            {
                CountDrop("Redis is unreachable");
                continue;
            }

            try
            {
                await publisher.PublishAsync(link.Channel, message);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                CountDrop(e.Message);
            }
        }
    }

    private void CountDrop(string reason)
    {
        var dropped = Interlocked.Increment(ref _dropped);

        // One line per interval with the count, not one per event: an outage during a busy run drops thousands.
        var now = DateTime.UtcNow;
        if (now - _lastDropReport >= DropReportInterval)
        {
            _lastDropReport = now;
            logger.LogWarning("{Count} live event(s) not sent to other processes ({Total} in all): {Reason}.", dropped - Interlocked.Exchange(ref _reportedDropped, dropped), dropped, reason);
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Subscription)
        {
            logger.LogWarning("The Redis event link is down ({Failure}); reconnecting.", e.FailureType);
            SetFeed(false);
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Subscription)
        {
            logger.LogInformation("The Redis event link is back.");
            SetFeed(true);
        }
    }

    private void SetFeed(bool connected)
    {
        if (feed.Connected != connected)
        {
            feed.Connected = connected;
            broadcaster.PublishRelayed(new LiveFeedChangedEvent(connected));
        }
    }
}
