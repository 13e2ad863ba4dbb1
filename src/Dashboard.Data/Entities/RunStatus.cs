namespace Dashboard.Data.Entities;

/// <summary>Run states of the scripting contract, stored as these strings.</summary>
public static class RunStatus
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Stopped = "stopped";
    public const string Interrupted = "interrupted";
    public const string Failed = "failed";

    public static IReadOnlyList<string> All { get; } = [Queued, Running, Completed, Stopped, Interrupted, Failed];

    /// <summary>States in which a run's training job is queued or on a thread.</summary>
    public static bool IsActive(string status) => status is Queued or Running;
}

/// <summary>Checkpoint states; only <see cref="Durable"/> checkpoints are offered for actions.</summary>
public static class CheckpointStatus
{
    public const string Writing = "writing";
    public const string Durable = "durable";
    public const string Corrupt = "corrupt";
    public const string Missing = "missing";
    public const string Deleted = "deleted";
}
