using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Reflection;
using System.Text.Json.Nodes;

namespace Dashboard.Bench;

/// <summary>
/// The real dashboard as a child process on a free loopback port, with its own data folder: what a user runs, measured
/// from outside over HTTP and SignalR.
/// </summary>
internal sealed class DashboardServer : IAsyncDisposable
{
    private static readonly ConcurrentDictionary<int, Process> Live = new();
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private DashboardServer(Process process, Uri baseAddress, string dataDirectory)
    {
        _process = process;
        BaseAddress = baseAddress;
        DataDirectory = dataDirectory;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2) };
    }

    public Uri BaseAddress { get; }

    public string DataDirectory { get; }

    public HttpClient Http { get; }

    public Uri HubUrl => new(BaseAddress, "/hubs/training");

    public static string WebDirectory =>
        typeof(DashboardServer).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "DashboardWebDirectory").Value!;

    /// <summary>Kills every server still running; for Ctrl+C and unexpected exits.</summary>
    public static void KillAll()
    {
        foreach (var process in Live.Values)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }
    }

    public static async Task<DashboardServer> StartAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        var dll = Path.Combine(WebDirectory, "Dashboard.Web.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"The dashboard is not built at {dll}.", dll);
        }

        Directory.CreateDirectory(dataDirectory);
        var port = FreePort();
        var url = $"http://127.0.0.1:{port}";
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll, "--urls", url },
            WorkingDirectory = dataDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["Storage__DataDirectory"] = dataDirectory;
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        var process = Process.Start(start) ?? throw new InvalidOperationException("The dashboard did not start.");
        Live[process.Id] = process;
        var server = new DashboardServer(process, new Uri(url), dataDirectory);
        process.OutputDataReceived += (_, e) => server.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => server.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The dashboard exited with {process.ExitCode}: {server.RecentOutput()}");
            }

            try
            {
                using var health = await server.Http.GetAsync(new Uri("/healthz", UriKind.Relative), cancellationToken);
                if (health.StatusCode == HttpStatusCode.OK)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(90))
            {
                await server.DisposeAsync();
                throw new TimeoutException($"The dashboard did not become healthy within 90 s: {server.RecentOutput()}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    public string RecentOutput() => string.Join(" / ", _output.TakeLast(15));

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
        Http.Dispose();
        Live.TryRemove(_process.Id, out _);
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None);
        }

        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 200)
        {
            _output.TryDequeue(out _);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
