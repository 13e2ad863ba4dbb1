using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Dashboard.ServerProcess;

/// <summary>
/// The real dashboard as a child process (<c>dotnet Dashboard.Web.dll</c>) on a free loopback port, with its own temporary
/// data folder. Out of process on purpose: start-up reconciliation, SIGTERM and SIGKILL can only be tested on a real
/// process, and the hub and pages then run exactly as they do for users.
/// </summary>
public sealed partial class DashboardServer : IAsyncDisposable
{
    public static readonly TimeSpan DefaultStartTimeout = TimeSpan.FromSeconds(90);
    public static readonly TimeSpan DefaultStopTimeout = TimeSpan.FromSeconds(30);

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    internal const int SigTerm = 15;

    private IReadOnlyDictionary<string, string> _settings;
    private readonly OutputBuffer _output = new();
    private Process? _process;
    private Process? _watchdog;
    private HttpClient? _client;
    private int _launches;

    private readonly string _listenUrl;

    private DashboardServer(string rootDirectory, int port, IReadOnlyDictionary<string, string> settings, string listenHost)
    {
        RootDirectory = rootDirectory;
        DataDirectory = Path.Combine(rootDirectory, "data");
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        _listenUrl = $"http://{listenHost}:{port}";
        _settings = settings;
    }

    /// <summary>The folder holding the web app's build output (baked in at build time by the project file).</summary>
    public static string WebDirectory { get; } =
        typeof(DashboardServer).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .SingleOrDefault(a => a.Key == "DashboardWebDirectory")?.Value
        ?? throw new InvalidOperationException("The DashboardWebDirectory assembly metadata is missing from Dashboard.ServerProcess.");

    public Uri BaseAddress { get; }

    /// <summary>The configuration keys the child was started with (its database provider among them).</summary>
    public IReadOnlyDictionary<string, string> Settings => _settings;

    /// <summary>The temporary folder: the child's working directory, and the parent of <see cref="DataDirectory"/>.</summary>
    public string RootDirectory { get; }

    /// <summary><c>Storage:DataDirectory</c> of the child: the database and the checkpoint folder live here.</summary>
    public string DataDirectory { get; }

    public string CheckpointDirectory => Path.Combine(DataDirectory, "checkpoints");

    /// <summary>Where the child holds uploads while it reads them: temporary files that must never outlive their request.</summary>
    public string UploadDirectory => Path.Combine(DataDirectory, "tmp", "uploads");

    /// <summary>The files now in <see cref="UploadDirectory"/>; none when it was never made.</summary>
    public IReadOnlyList<string> UploadFiles() => Directory.Exists(UploadDirectory) ? Directory.GetFiles(UploadDirectory) : [];

    /// <summary>A client for <see cref="BaseAddress"/>; a fresh one after each (re)start, so no pooled connection points at a dead process.</summary>
    public HttpClient Client => _client ?? throw new InvalidOperationException("The dashboard has not been started.");

    public bool IsRunning => _process is { HasExited: false };

    public int? ProcessId => _process?.Id;

    /// <summary>Everything the child wrote to stdout and stderr (all launches), for diagnostics.</summary>
    public string Output => _output.ToString();

    public string OutputTail(int maxChars = 8000) => _output.Tail(maxChars);

    /// <summary>
    /// Raised for every line the child writes, on a reader thread, as it arrives: lets a long test watch for a message
    /// that the bounded <see cref="Output"/> may already have dropped.
    /// </summary>
    public event Action<string>? OutputLineReceived;

    /// <summary>
    /// Starts the dashboard on a free port and waits until <c>/healthz</c> answers 200.
    /// <paramref name="settings"/> are configuration keys (<c>Training:MaxConcurrentRuns</c>) passed as environment variables.
    /// <paramref name="listenHost"/> is the address the child binds (e.g. <c>0.0.0.0</c>); the tests reach it on 127.0.0.1.
    /// </summary>
    public static async Task<DashboardServer> StartAsync(
        IReadOnlyDictionary<string, string>? settings = null,
        CancellationToken cancellationToken = default,
        string listenHost = "127.0.0.1")
    {
        var root = Path.Combine(Path.GetTempPath(), "dashboard-tests", $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid():N}"[..32]);
        Directory.CreateDirectory(root);
        var server = new DashboardServer(root, FreePort(), settings ?? new Dictionary<string, string>(), listenHost);
        try
        {
            await server.LaunchAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the dashboard again on the same port and data folder, e.g. after <see cref="Kill()"/> or <see cref="StopAsync"/>.</summary>
    /// <param name="allowUnhealthy">
    /// Also return once <c>/healthz</c> answers 503: for tests of a dashboard that comes up and reports a problem.
    /// </param>
    public async Task RestartAsync(CancellationToken cancellationToken = default, bool allowUnhealthy = false)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("The dashboard is still running; stop or kill it before restarting.");
        }

        await LaunchAsync(cancellationToken, allowUnhealthy);
    }

    /// <summary>Like <see cref="RestartAsync(CancellationToken)"/>, with some settings changed (or added) for this and later launches.</summary>
    public async Task RestartAsync(IReadOnlyDictionary<string, string> changedSettings, CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("The dashboard is still running; stop or kill it before restarting.");
        }

        var settings = new Dictionary<string, string>(_settings);
        foreach (var (key, value) in changedSettings)
        {
            settings[key] = value;
        }

        _settings = settings;
        await RestartAsync(cancellationToken);
    }

    /// <summary>Sends SIGTERM (what <c>docker stop</c> and systemd send) and waits for the process to exit; returns its exit code.</summary>
    /// <exception cref="TimeoutException">It did not exit in time; it has been killed.</exception>
    public async Task<int> StopAsync(TimeSpan? timeout = null)
    {
        var process = _process ?? throw new InvalidOperationException("The dashboard has not been started.");
        if (!process.HasExited)
        {
            if (Kill(process.Id, SigTerm) != 0)
            {
                throw new InvalidOperationException($"kill(SIGTERM) of {process.Id} failed (errno {Marshal.GetLastPInvokeError()}).");
            }

            using var deadline = new CancellationTokenSource(timeout ?? DefaultStopTimeout);
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                Kill();
                throw new TimeoutException(
                    $"The dashboard did not exit within {(timeout ?? DefaultStopTimeout).TotalSeconds:0.#} s of SIGTERM; killed it.{Environment.NewLine}{OutputTail()}");
            }
        }

        // The parameterless wait also drains the redirected output, so the buffer holds the last lines.
        await process.WaitForExitAsync(CancellationToken.None);
        StopWatchdog();
        return process.ExitCode;
    }

    /// <summary>SIGKILL: the process gets no chance to clean up, like a power cut or the OOM killer.</summary>
    public void Kill()
    {
        if (_process is { } process)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }

                process.WaitForExit();
            }
            catch (InvalidOperationException)
            {
                // It exited between the check and the kill.
            }
        }

        StopWatchdog();
    }

    /// <summary>Kills the process if it still runs and deletes the temporary folder.</summary>
    /// <remarks>With DASHBOARD_TEST_LOGS set to a folder, the child's whole output is kept there first, for CI artefacts.</remarks>
    public async ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        _process = null;
        _client?.Dispose();
        _client = null;
        if (Environment.GetEnvironmentVariable("DASHBOARD_TEST_LOGS") is { Length: > 0 } logs)
        {
            Directory.CreateDirectory(logs);
            await File.WriteAllTextAsync(Path.Combine(logs, $"dashboard-{Path.GetFileName(RootDirectory)}.log"), Output);
        }

        await DeleteRootAsync();
    }

    public override string ToString() => $"dashboard at {BaseAddress} (pid {ProcessId}, data {DataDirectory})";

    private async Task LaunchAsync(CancellationToken cancellationToken, bool allowUnhealthy = false)
    {
        _process?.Dispose();
        _client?.Dispose();
        _launches++;
        _output.AppendLine("test", $"---- launch {_launches}: {BaseAddress} data={DataDirectory} ----");

        var app = Path.Combine(WebDirectory, "Dashboard.Web.dll");
        if (!File.Exists(app))
        {
            throw new FileNotFoundException($"{app} does not exist; build the solution (dotnet build Dashboard.sln) first.", app);
        }

        var start = ChildStart(app, RootDirectory, DataDirectory, _settings);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(_listenUrl);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => OnLine("out", e.Data);
        process.ErrorDataReceived += (_, e) => OnLine("err", e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {start.FileName} {app}.");
        }

        _process = process;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        StartWatchdog(process.Id);
        _client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

        await WaitUntilHealthyAsync(process, cancellationToken, allowUnhealthy);
    }

    private void OnLine(string stream, string? line)
    {
        _output.AppendLine(stream, line);
        if (line is not null)
        {
            OutputLineReceived?.Invoke(line);
        }
    }

    private async Task WaitUntilHealthyAsync(Process process, CancellationToken cancellationToken, bool allowUnhealthy)
    {
        using var probe = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(DefaultStartTimeout);
        var clock = Stopwatch.StartNew();
        string? lastAnswer = null;
        while (true)
        {
            if (process.HasExited)
            {
                await process.WaitForExitAsync(CancellationToken.None);
                throw new InvalidOperationException(
                    $"The dashboard exited with code {process.ExitCode} before /healthz answered.{Environment.NewLine}{OutputTail()}");
            }

            try
            {
                using var response = await probe.GetAsync("healthz", deadline.Token);
                if (response.StatusCode == HttpStatusCode.OK || (allowUnhealthy && response.StatusCode == HttpStatusCode.ServiceUnavailable))
                {
                    return;
                }

                lastAnswer = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(deadline.Token)}";
            }
            catch (HttpRequestException e)
            {
                lastAnswer = e.Message; // not listening yet
            }
            catch (OperationCanceledException) when (!deadline.IsCancellationRequested)
            {
                lastAnswer = "the request timed out";
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                break;
            }

            try
            {
                await Task.Delay(100, deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                break;
            }
        }

        Kill();
        throw new TimeoutException(
            $"GET {BaseAddress}healthz did not answer 200 within {clock.Elapsed.TotalSeconds:0} s (last: {lastAnswer}); killed the dashboard.{Environment.NewLine}{OutputTail()}");
    }

    private async Task DeleteRootAsync()
    {
        // SQLite or a checkpoint write of a just-killed process may still be releasing files; a few tries settle it.
        for (var attempt = 0; attempt < 5 && Directory.Exists(RootDirectory); attempt++)
        {
            try
            {
                Directory.Delete(RootDirectory, recursive: true);
            }
            catch (IOException) when (attempt < 4)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>
    /// How a dashboard process (the server or a worker) is started for a test: its own data folder and settings as
    /// environment variables (<c>Training:Device</c> → <c>Training__Device</c>), output redirected, and none of the test
    /// host's own URL or environment settings leaking into the app under test.
    /// </summary>
    internal static ProcessStartInfo ChildStart(string app, string workingDirectory, string dataDirectory, IReadOnlyDictionary<string, string> settings)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(app);
        foreach (var inherited in new[] { "ASPNETCORE_URLS", "DOTNET_URLS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT" })
        {
            start.Environment.Remove(inherited);
        }

        start.Environment["Storage__DataDirectory"] = dataDirectory;
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        return start;
    }

    internal static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
        {
            return host;
        }

        return Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
