using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Launcher = Dashboard.ServerProcess.DashboardServer;

namespace Dashboard.Bench;

/// <summary>
/// The real dashboard as a child process on a free loopback port, with its own data folder: what a user runs, measured
/// from outside over HTTP and SignalR. Starting, health-waiting and killing are the shared launcher
/// (tools/Dashboard.ServerProcess); this adds the few JSON calls the figures make.
/// </summary>
internal sealed class DashboardServer : IAsyncDisposable
{
    private static readonly ConcurrentDictionary<DashboardServer, byte> Live = new();
    private readonly Launcher _launcher;

    private DashboardServer(Launcher launcher, string dataDirectory)
    {
        _launcher = launcher;
        DataDirectory = dataDirectory;
        Http = new HttpClient { BaseAddress = launcher.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
    }

    public Uri BaseAddress => _launcher.BaseAddress;

    public string DataDirectory { get; }

    public HttpClient Http { get; }

    public Uri HubUrl => new(BaseAddress, "/hubs/training");

    /// <summary>Kills every server still running; for Ctrl+C and unexpected exits.</summary>
    public static void KillAll()
    {
        foreach (var server in Live.Keys)
        {
            server._launcher.Kill();
        }
    }

    /// <param name="dataDirectory">Where the server keeps its state; the bench's work folder, so <c>--keep</c> keeps it.</param>
    /// <param name="settings">Further configuration keys (the distributed figures' database, Redis and worker settings).</param>
    public static async Task<DashboardServer> StartAsync(string dataDirectory, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? settings = null)
    {
        Directory.CreateDirectory(dataDirectory);
        var all = new Dictionary<string, string>(settings ?? new Dictionary<string, string>()) { ["Storage:DataDirectory"] = dataDirectory };
        var launcher = await Launcher.StartAsync(all, cancellationToken);
        var server = new DashboardServer(launcher, dataDirectory);
        Live[server] = 0;
        return server;
    }

    public string RecentOutput() => _launcher.OutputTail(2000);

    /// <summary>POST /api/runs; returns the new run's id.</summary>
    public async Task<int> CreateRunAsync(object body, CancellationToken cancellationToken)
    {
        using var response = await Http.PostAsJsonAsync(new Uri("/api/runs", UriKind.Relative), body, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST /api/runs answered {(int)response.StatusCode}: {text}");
        }

        return JsonNode.Parse(text)!["id"]!.GetValue<int>();
    }

    public async Task<JsonNode> GetJsonAsync(string path, CancellationToken cancellationToken)
    {
        var text = await Http.GetStringAsync(new Uri(path, UriKind.Relative), cancellationToken);
        return JsonNode.Parse(text)!;
    }

    /// <summary>Polls the run until it reaches a final status; throws when it failed.</summary>
    public async Task<string> WaitForRunAsync(int runId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            var run = await GetJsonAsync($"/api/runs/{runId}", cancellationToken);
            var status = run["status"]!.GetValue<string>();
            if (status is "completed" or "stopped" or "interrupted")
            {
                return status;
            }

            if (status == "failed")
            {
                throw new InvalidOperationException($"Run {runId} failed: {run["error"]}");
            }

            await Task.Delay(200, cancellationToken);
        }

        throw new TimeoutException($"Run {runId} did not finish within {timeout.TotalSeconds:F0} s.");
    }

    public async Task<JsonArray> MetricsAsync(int runId, CancellationToken cancellationToken) =>
        (JsonArray)await GetJsonAsync($"/api/runs/{runId}/metrics", cancellationToken);

    public async ValueTask DisposeAsync()
    {
        Live.TryRemove(this, out _);
        Http.Dispose();
        await _launcher.DisposeAsync();
    }
}
