using System.Text.Json;
using Dashboard.Runs.Contracts;
using Microsoft.AspNetCore.SignalR.Client;

namespace Dashboard.Bench;

/// <summary>Several .NET SignalR clients of the training hub, as many browser tabs or scripts would be.</summary>
internal sealed class HubClients : IAsyncDisposable
{
    private readonly List<HubConnection> _connections = [];
    private long _messages;

    private HubClients()
    {
    }

    /// <summary>Client index, run id, metrics, and when the client got them (UTC).</summary>
    public event Action<int, int, MetricDto, DateTime>? EpochCompleted;

    public event Action<int, int, ProgressDto, DateTime>? EpochProgress;

    public event Action<int, int, string, DateTime>? RunStatusChanged;

    public int Count => _connections.Count;

    /// <summary>Hub messages of any kind received by all clients together.</summary>
    public long Messages => Interlocked.Read(ref _messages);

    public static async Task<HubClients> ConnectAsync(Uri hubUrl, int count, CancellationToken cancellationToken)
    {
        var clients = new HubClients();
        for (var i = 0; i < count; i++)
        {
            var index = i;
            var connection = new HubConnectionBuilder().WithUrl(hubUrl).Build();
            connection.On<int, MetricDto>("EpochCompleted", (runId, metrics) =>
            {
                var now = DateTime.UtcNow;
                Interlocked.Increment(ref clients._messages);
                clients.EpochCompleted?.Invoke(index, runId, metrics, now);
            });
            connection.On<int, ProgressDto>("EpochProgress", (runId, progress) =>
            {
                var now = DateTime.UtcNow;
                Interlocked.Increment(ref clients._messages);
                clients.EpochProgress?.Invoke(index, runId, progress, now);
            });
            connection.On<int, string>("RunStatusChanged", (runId, status) =>
            {
                var now = DateTime.UtcNow;
                Interlocked.Increment(ref clients._messages);
                clients.RunStatusChanged?.Invoke(index, runId, status, now);
            });
            connection.On<int, JsonElement>("CheckpointSaved", (_, _) => Interlocked.Increment(ref clients._messages));
            connection.On<int, JsonElement>("CheckpointRemoved", (_, _) => Interlocked.Increment(ref clients._messages));
            clients._connections.Add(connection);
        }

        // A few at a time: a hundred simultaneous handshakes on two cores only measure the handshake.
        foreach (var chunk in clients._connections.Chunk(10))
        {
            await Task.WhenAll(chunk.Select(c => c.StartAsync(cancellationToken)));
        }

        return clients;
    }

    public Task JoinRunAsync(int runId, CancellationToken cancellationToken) =>
        Task.WhenAll(_connections.Select(c => c.InvokeAsync("JoinRun", runId, cancellationToken)));

    public Task LeaveRunAsync(int runId, CancellationToken cancellationToken) =>
        Task.WhenAll(_connections.Select(c => c.InvokeAsync("LeaveRun", runId, cancellationToken)));

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }

        _connections.Clear();
    }
}
