using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Dashboard.ServerProcess;

/// <summary>
/// A training worker (<c>dotnet Dashboard.Worker.dll</c>) as a child process, sharing a dashboard's database and data
/// folder: what the distributed tests start beside a web app whose embedded worker is off, and kill or stop like a host.
/// </summary>
public sealed class DashboardWorker : IAsyncDisposable
{
    /// <summary>The line the worker logs once its job server runs (Program.cs of Dashboard.Worker).</summary>
    public const string ReadyLine = "Dashboard worker ready";

    private readonly OutputBuffer _output = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Process? _process;
    private Process? _watchdog;

    private DashboardWorker(string name) => Name = name;

    public static string WorkerDirectory { get; } =
        typeof(DashboardWorker).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .SingleOrDefault(a => a.Key == "DashboardWorkerDirectory")?.Value
        ?? throw new InvalidOperationException("The DashboardWorkerDirectory assembly metadata is missing from Dashboard.ServerProcess.");

    /// <summary><c>Worker:Name</c>: how the worker shows in the job engine and in the run logs' start lines.</summary>
    public string Name { get; }

    public int? ProcessId => _process?.Id;

    public bool IsRunning => _process is { HasExited: false };

    public string Output => _output.ToString();

    /// <summary>Raised for each line the worker writes, on a reader thread.</summary>
    public event Action<string>? OutputLineReceived;

    /// <summary>
    /// Starts a worker named <paramref name="name"/> with <paramref name="settings"/> (configuration keys, passed as
    /// environment variables) on <paramref name="dataDirectory"/>, the web app's, so both see the same checkpoint files; waits
    /// until its job server runs.
    /// </summary>
    public static async Task<DashboardWorker> StartAsync(
        string name, string dataDirectory, IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken = default)
    {
        var worker = new DashboardWorker(name);
        try
        {
            await worker.LaunchAsync(dataDirectory, settings, cancellationToken);
            return worker;
        }
        catch
        {
            await worker.DisposeAsync();
            throw;
        }
    }

    /// <summary>SIGKILL: the worker gets no chance to hand its run back; only failover continues it.</summary>
    public void Kill()
    {
        try
        {
            if (_process is { HasExited: false } process)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
            // It exited between the check and the kill.
        }

        DashboardServer.Release(_watchdog);
        _watchdog = null;
    }

    /// <summary>SIGTERM, then waits for the exit; returns the exit code. Killed and a <see cref="TimeoutException"/> if it hangs.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        var process = _process ?? throw new InvalidOperationException("The worker has not been started.");
        if (!process.HasExited && DashboardServer.Kill(process.Id, DashboardServer.SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill(SIGTERM) of {process.Id} failed (errno {Marshal.GetLastPInvokeError()}).");
        }

        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            throw new TimeoutException($"Worker {Name} did not exit within {timeout.TotalSeconds:0} s of SIGTERM; killed it.{Environment.NewLine}{_output.Tail(8000)}");
        }

        await process.WaitForExitAsync(CancellationToken.None);
        DashboardServer.Release(_watchdog);
        _watchdog = null;
        return process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        _process = null;
        if (Environment.GetEnvironmentVariable("DASHBOARD_TEST_LOGS") is { Length: > 0 } logs)
        {
            Directory.CreateDirectory(logs);
            await File.WriteAllTextAsync(Path.Combine(logs, $"worker-{Name}-{Guid.NewGuid():N}.log"), Output);
        }
    }

    public override string ToString() => $"worker {Name} (pid {ProcessId})";

    private async Task LaunchAsync(string dataDirectory, IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken)
    {
        var app = Path.Combine(WorkerDirectory, "Dashboard.Worker.dll");
        if (!File.Exists(app))
        {
            throw new FileNotFoundException($"{app} does not exist; build the solution (dotnet build Dashboard.sln) first.", app);
        }

        Directory.CreateDirectory(dataDirectory);
        // The worker's name unless the settings name it themselves.
        var named = new Dictionary<string, string>(settings);
        named.TryAdd("Worker:Name", Name);
        var start = DashboardServer.ChildStart(app, dataDirectory, dataDirectory, named);

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => OnLine("out", e.Data);
        process.ErrorDataReceived += (_, e) => OnLine("err", e.Data);
        process.Exited += (_, _) => _ready.TrySetException(new InvalidOperationException($"Worker {Name} exited before it was ready."));
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {start.FileName} {app}.");
        }

        _process = process;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _watchdog = DashboardServer.Guard(process.Id);
        try
        {
            await _ready.Task.WaitAsync(DashboardServer.DefaultStartTimeout, cancellationToken);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            Kill();
            throw new InvalidOperationException($"Worker {Name} did not get ready: {e.Message}{Environment.NewLine}{_output.Tail(8000)}", e);
        }
    }

    private void OnLine(string stream, string? line)
    {
        _output.AppendLine(stream, line);
        if (line is null)
        {
            return;
        }

        if (line.Contains(ReadyLine, StringComparison.Ordinal))
        {
            _ready.TrySetResult();
        }

        OutputLineReceived?.Invoke(line);
    }
}
