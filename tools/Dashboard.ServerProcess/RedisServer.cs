using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Dashboard.ServerProcess;

/// <summary>
/// A private Redis (Debian's <c>redis-server</c>) on a free loopback port, with no persistence, for the tests and the
/// benchmark: one per test class that needs it, so a test may stop and start it (<see cref="RestartAsync"/>) without
/// disturbing others. Stopped by its pid; a watchdog shell kills it too if the process dies without disposing.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private readonly string _binary;
    private Process? _process;
    private Process? _watchdog;

    private RedisServer(string binary, int port)
    {
        _binary = binary;
        Port = port;
    }

    public int Port { get; }

    /// <summary><c>ConnectionStrings:Redis</c> for a dashboard that uses this server.</summary>
    public string ConnectionString => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    /// <summary>Why no Redis can be started here, or null when one can.</summary>
    public static string? Unavailable => FindBinary() is null
        ? "No redis-server on PATH or in /usr/bin; install the redis-server package."
        : null;

    public static async Task<RedisServer> StartAsync(CancellationToken cancellationToken = default)
    {
        var binary = FindBinary() ?? throw new InvalidOperationException(Unavailable);
        var server = new RedisServer(binary, FreePort());
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

    /// <summary>Kills the server (SIGKILL: what a crash looks like to clients), waits <paramref name="downtime"/>, starts it again on the same port, empty.</summary>
    public async Task RestartAsync(TimeSpan downtime, CancellationToken cancellationToken = default)
    {
        Stop();
        await Task.Delay(downtime, cancellationToken);
        await LaunchAsync(cancellationToken);
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        return ValueTask.CompletedTask;
    }

    private async Task LaunchAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(_binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"])
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {_binary}.");
        var output = new StringBuilder();
        _process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        _process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        StartWatchdog(_process.Id);

        var deadline = DateTime.UtcNow + StartTimeout;
        while (!await PingAsync(cancellationToken))
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                string log;
                lock (output)
                {
                    log = output.ToString();
                }

                throw new InvalidOperationException($"redis-server on port {Port} did not answer PING: {log}");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    private async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), cancellationToken);
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer, cancellationToken);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private void Stop()
    {
        var server = _process;
        _process = null;
        KillAndDispose(server);

        // The server is gone; the watchdog is ended by its own id before its stdin closes, so it never signals a reused pid.
        var watchdog = _watchdog;
        _watchdog = null;
        KillAndDispose(watchdog);
    }

    private static void KillAndDispose(Process? process)
    {
        if (process is null)
        {
            return;
        }

        try
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            process.Dispose();
        }
    }

    /// <summary>A shell that SIGKILLs the server once its stdin closes, which the kernel does if this process dies.</summary>
    private void StartWatchdog(int pid)
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardInput = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("while read -r _line; do :; done; kill -KILL \"$1\" 2>/dev/null");
        start.ArgumentList.Add("redis-watchdog");
        start.ArgumentList.Add(pid.ToString(CultureInfo.InvariantCulture));
        _watchdog = Process.Start(start);
    }

    private static string? FindBinary() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin").Append("/usr/sbin")
            .Select(folder => Path.Combine(folder, "redis-server"))
            .FirstOrDefault(File.Exists);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
