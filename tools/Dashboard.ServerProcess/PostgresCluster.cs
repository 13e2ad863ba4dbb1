using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Dashboard.ServerProcess;

/// <summary>
/// A private PostgreSQL cluster in a temporary folder, on a free loopback port, for tests and the benchmark: initdb, then
/// pg_ctl start; <see cref="DisposeAsync"/> stops it by its postmaster's pid and removes the folder. initdb refuses to
/// run as root, so under root every server command runs as the <c>postgres</c> user (runuser), which owns the folder.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    private const string SuperUser = "postgres";
    private readonly string _bin;
    private Process? _watchdog;
    private string _startOptions = "";
    private int _databases;

    private PostgresCluster(string bin, string root, int port)
    {
        _bin = bin;
        RootDirectory = root;
        Port = port;
    }

    /// <summary>The folder holding the data directory, the socket and the log; removed on dispose.</summary>
    public string RootDirectory { get; }

    public int Port { get; }

    public int? PostmasterPid { get; private set; }

    private string DataDirectory => Path.Combine(RootDirectory, "data");

    private string LogFile => Path.Combine(RootDirectory, "postgres.log");

    /// <summary>Why no cluster can be started here, or null when one can.</summary>
    public static string? Unavailable => FindBinaries() is null
        ? "No PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin or POSTGRES_BIN; install the postgresql package."
        : null;

    /// <summary>
    /// The folder of initdb and pg_ctl: <c>POSTGRES_BIN</c> when set, else the newest of Debian's
    /// <c>/usr/lib/postgresql/*/bin</c>; null when there is none.
    /// </summary>
    public static string? FindBinaries()
    {
        if (Environment.GetEnvironmentVariable("POSTGRES_BIN") is { Length: > 0 } configured)
        {
            return File.Exists(Path.Combine(configured, "initdb")) ? configured : null;
        }

        const string debian = "/usr/lib/postgresql";
        return !Directory.Exists(debian)
            ? null
            : Directory.GetDirectories(debian)
                .Select(version => Path.Combine(version, "bin"))
                .Where(bin => File.Exists(Path.Combine(bin, "initdb")) && File.Exists(Path.Combine(bin, "pg_ctl")))
                .OrderByDescending(bin => int.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), out var major) ? major : 0)
                .FirstOrDefault();
    }

    /// <summary>
    /// Creates and starts a cluster. <paramref name="durable"/> false turns off fsync and synchronous commit: tests care
    /// about behaviour, not about surviving a power cut, and a 2-core machine shared by many starts them faster so.
    /// </summary>
    public static async Task<PostgresCluster> StartAsync(string bin, bool durable = false, CancellationToken cancellationToken = default)
    {
        var root = Path.Combine(Path.GetTempPath(), "dashboard-pg", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        var cluster = new PostgresCluster(bin, root, FreePort());
        try
        {
            await cluster.InitializeAsync(durable, cancellationToken);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates an empty database and returns an Npgsql connection string for it.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "dashboard", CancellationToken cancellationToken = default)
    {
        var name = $"{prefix}_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid().ToString("N")[..8]}";
        await RunAsync("createdb", ["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", SuperUser, name], cancellationToken);
        return ConnectionString(name);
    }

    /// <summary>A connection string for database <paramref name="database"/> of this cluster (trust authentication: no password).</summary>
    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username={SuperUser};Database={database}";

    public async ValueTask DisposeAsync()
    {
        if (Directory.Exists(DataDirectory) && PostmasterPid is not null)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await RunAsync("pg_ctl", ["stop", "-D", DataDirectory, "-m", "immediate", "-w"], timeout.Token);
            }
            catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
            {
                // pg_ctl could not stop it; the pid is the postmaster's own, read from its pid file at start.
                KillPostmaster();
            }
        }

        // The watchdog removes the folder once its stdin closes: from its own process, so the removal also happens when
        // this one is cut short (the test host exits right after its ProcessExit handlers start).
        ReleaseWatchdog();
        if (Directory.Exists(RootDirectory))
        {
            try
            {
                Directory.Delete(RootDirectory, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A file still held by a dying backend; the folder is under the temp folder and named as ours.
            }
        }
    }

    private async Task InitializeAsync(bool durable, CancellationToken cancellationToken)
    {
        if (Environment.UserName == "root")
        {
            // The postgres user writes the data directory, the socket and the log.
            await RunProcessAsync("chown", ["-R", $"{SuperUser}:", RootDirectory], cancellationToken);
        }

        await RunAsync("initdb", ["-D", DataDirectory, "-A", "trust", "-U", SuperUser, "-E", "UTF8", "--locale=C", "--no-sync"], cancellationToken);
        _startOptions = $"-p {Port} -k {RootDirectory} -c listen_addresses=127.0.0.1 -c max_connections=200"
            + (durable ? "" : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        await StartServerAsync(cancellationToken);
    }

    /// <summary>
    /// Stops the server as an operator's restart does (<c>pg_ctl stop -m fast</c>: open sessions end with 57P01
    /// admin_shutdown, new connections are refused) until <see cref="StartAgainAsync"/>, which starts it on the same port
    /// and data directory with every committed row still there.
    /// </summary>
    public async Task StopServerAsync(CancellationToken cancellationToken = default)
    {
        // The watchdog of the old postmaster is ended by its own id, not released: released, it would remove the folder.
        if (_watchdog is { } watchdog)
        {
            _watchdog = null;
            watchdog.Kill();
            await watchdog.WaitForExitAsync(cancellationToken);
            watchdog.Dispose();
        }

        await RunAsync("pg_ctl", ["stop", "-D", DataDirectory, "-m", "fast", "-w", "-t", "60"], cancellationToken);
    }

    /// <summary>Starts the server stopped by <see cref="StopServerAsync"/> again, as it was.</summary>
    public Task StartAgainAsync(CancellationToken cancellationToken = default) => StartServerAsync(cancellationToken);

    private async Task StartServerAsync(CancellationToken cancellationToken)
    {
        await RunAsync("pg_ctl", ["start", "-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "-o", _startOptions], cancellationToken);
        var pidLine = (await File.ReadAllLinesAsync(Path.Combine(DataDirectory, "postmaster.pid"), cancellationToken))[0];
        PostmasterPid = int.Parse(pidLine, CultureInfo.InvariantCulture);
        StartWatchdog(PostmasterPid.Value);
    }

    /// <summary>
    /// A shell that waits for its stdin to close, then stops the postmaster by pid (SIGQUIT, PostgreSQL's immediate
    /// shutdown; SIGKILL if it is still there after five seconds; a zombie left unreaped by a container's init counts as
    /// gone) and removes the folder. The pipe's other end is ours:
    /// if this process dies without disposing, the kernel closes it and the cluster goes too instead of lingering.
    /// </summary>
    private void StartWatchdog(int pid)
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardInput = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("""
            while read -r _line; do :; done
            kill -QUIT "$1" 2>/dev/null
            i=0; while kill -0 "$1" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
            kill -KILL "$1" 2>/dev/null
            rm -rf "$2"
            """);
        start.ArgumentList.Add("postgres-watchdog");
        start.ArgumentList.Add(pid.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add(RootDirectory);
        _watchdog = Process.Start(start);
    }

    /// <summary>Closes the watchdog's stdin and gives it ten seconds to stop what is left and remove the folder.</summary>
    private void ReleaseWatchdog()
    {
        if (_watchdog is { } watchdog)
        {
            _watchdog = null;
            watchdog.StandardInput.Close();
            watchdog.WaitForExit(10_000);
            watchdog.Dispose();
        }
    }

    private void KillPostmaster()
    {
        try
        {
            using var postmaster = Process.GetProcessById(PostmasterPid!.Value);
            postmaster.Kill(entireProcessTree: true);
            postmaster.WaitForExit(5000);
        }
        catch (ArgumentException)
        {
            // Already gone.
        }
    }

    /// <summary>Runs a PostgreSQL program, as the postgres user when this process is root.</summary>
    private Task RunAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        Environment.UserName == "root"
            ? RunProcessAsync("runuser", ["-u", SuperUser, "--", Path.Combine(_bin, program), .. arguments], cancellationToken)
            : RunProcessAsync(Path.Combine(_bin, program), arguments, cancellationToken);

    private async Task RunProcessAsync(string file, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RootDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            var log = File.Exists(LogFile) ? await File.ReadAllTextAsync(LogFile, CancellationToken.None) : "";
            throw new InvalidOperationException(
                $"{Path.GetFileName(file)} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await output}{await error}{log}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
