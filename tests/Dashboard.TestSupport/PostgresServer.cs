using Dashboard.ServerProcess;

namespace Dashboard.TestSupport;

/// <summary>
/// One private PostgreSQL cluster for the whole test run, started on first use and stopped (by its postmaster's pid)
/// when the test process exits; each dashboard started on it gets a database of its own.
/// </summary>
public static class PostgresServer
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static PostgresCluster? _cluster;

    /// <summary>Why no cluster can be started here, or null when one can.</summary>
    public static string? Unavailable => PostgresCluster.Unavailable;

    /// <summary>
    /// Settings that start a dashboard on a fresh database of the shared cluster: <c>Storage:Provider</c> and
    /// <c>ConnectionStrings:Postgres</c>, as an operator would set them.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, string>> SettingsAsync(CancellationToken cancellationToken = default)
    {
        var cluster = await SharedAsync(cancellationToken);
        return new Dictionary<string, string>
        {
            ["Storage:Provider"] = "postgres",
            ["ConnectionStrings:Postgres"] = await cluster.CreateDatabaseAsync(cancellationToken: cancellationToken),

            // On PostgreSQL a killed process's run is continued by the job engine once its lease is stale; the default
            // minute would make each restart test wait that long.
            ["Training:FailoverSeconds"] = "10",
        };
    }

    /// <summary>
    /// A cluster of the caller's own, to stop and start mid-test (<see cref="PostgresCluster.StopServerAsync"/>) without
    /// disturbing the tests on the shared one; the caller disposes it.
    /// </summary>
    public static Task<PostgresCluster> StartPrivateAsync(CancellationToken cancellationToken = default) =>
        PostgresCluster.StartAsync(PostgresCluster.FindBinaries() ?? throw new InvalidOperationException(Unavailable), durable: false, cancellationToken);

    private static async Task<PostgresCluster> SharedAsync(CancellationToken cancellationToken)
    {
        await Gate.WaitAsync(cancellationToken);
        try
        {
            if (_cluster is null)
            {
                var bin = PostgresCluster.FindBinaries() ?? throw new InvalidOperationException(Unavailable);
                _cluster = await PostgresCluster.StartAsync(bin, durable: false, cancellationToken);

                // xunit v2 has no assembly fixture: the run ends with the process, and so does the cluster.
                AppDomain.CurrentDomain.ProcessExit += (_, _) => _cluster.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }

            return _cluster;
        }
        finally
        {
            Gate.Release();
        }
    }
}
