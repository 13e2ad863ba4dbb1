namespace Dashboard.Data.Entities;

/// <summary>
/// A process that trains runs, as it registered itself: who it is, where, on what, and when it last said it was alive.
/// The row stays after the process ends (with <see cref="StoppedAt"/> set on a clean shutdown), so a run's
/// <see cref="Run.Worker"/> keeps naming something that can be looked up.
/// </summary>
public sealed class Worker
{
    public int Id { get; set; }

    /// <summary><c>Worker:Name</c>; unique, so a restarted worker takes its row over again.</summary>
    public required string Name { get; set; }

    public required string Host { get; set; }

    /// <summary>"cpu" or "cuda".</summary>
    public required string Device { get; set; }

    public int TorchThreads { get; set; }

    /// <summary>The queues it takes runs from, comma-separated (<c>Worker:Queues</c>).</summary>
    public required string Queues { get; set; }

    /// <summary>The dataset names it can train on, as a JSON array.</summary>
    public string DatasetsJson { get; set; } = "[]";

    /// <summary>The model names it can build, as a JSON array.</summary>
    public string ModelsJson { get; set; } = "[]";

    /// <summary>The plugins it loaded (name, version, dll SHA-256), as a JSON array: which build of each it trains with.</summary>
    public string PluginsJson { get; set; } = "[]";

    public DateTime StartedAt { get; set; }

    public DateTime LastHeartbeat { get; set; }

    /// <summary>Set when the process shut down cleanly; null while it runs or when it died without saying so.</summary>
    public DateTime? StoppedAt { get; set; }
}
