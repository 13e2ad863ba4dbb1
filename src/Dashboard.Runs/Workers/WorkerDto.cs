using Dashboard.Engine.Models;

namespace Dashboard.Runs.Workers;

/// <summary>One row of <c>GET /api/workers</c>.</summary>
/// <param name="Alive">Its last heartbeat is within <c>Worker:AliveSeconds</c> and it has not said it stopped.</param>
/// <param name="Runs">The runs it trains now (running and claimed by it).</param>
/// <param name="Plugins">The plugins it loaded, each with its version and dll SHA-256: which build of each it trains with.</param>
public sealed record WorkerDto(
    string Name,
    string Host,
    string Device,
    int TorchThreads,
    IReadOnlyList<string> Queues,
    DateTime StartedAt,
    DateTime LastHeartbeat,
    DateTime? StoppedAt,
    bool Alive,
    IReadOnlyList<int> Runs,
    IReadOnlyList<string> Datasets,
    IReadOnlyList<string> Models,
    IReadOnlyList<PluginIdentity> Plugins);
