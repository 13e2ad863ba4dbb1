namespace Dashboard.Data.Entities;

public sealed class Run
{
    public int Id { get; set; }

    public required string Name { get; set; }

    public required string Status { get; set; }

    public required string Dataset { get; set; }

    public required string Model { get; set; }

    /// <summary>Total epochs the run trains to.</summary>
    public int Epochs { get; set; }

    /// <summary>The last epoch whose metrics are stored.</summary>
    public int CurrentEpoch { get; set; }

    /// <summary>Where the run trains ("cpu", "cuda"); empty until it starts.</summary>
    public string Device { get; set; } = "";

    /// <summary>The <see cref="Entities.Worker.Name"/> of the process that last claimed the run; null until one does.</summary>
    public string? Worker { get; set; }

    /// <summary>The engine's TrainingConfig as JSON.</summary>
    public required string ConfigJson { get; set; }

    /// <summary>The engine's ModelSpec as JSON, once known.</summary>
    public string? ModelSpecJson { get; set; }

    public int? ParentRunId { get; set; }

    public int? ParentCheckpointId { get; set; }

    /// <summary>
    /// The checkpoint the run was last queued to train from (its own newest on a resume or auto-resume, the parent's on a
    /// branch or fine-tune); null for a run started from scratch. Held undeletable while the run is queued or running and
    /// has no newer durable checkpoint of its own, and a start never silently falls back to another checkpoint.
    /// </summary>
    public int? StartCheckpointId { get; set; }

    /// <summary>Lowest validation loss so far and its epoch, kept here so the run list needs no aggregate.</summary>
    public double? BestValLoss { get; set; }

    public int? BestValLossEpoch { get; set; }

    public string? Error { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime? StartedAt { get; set; }

    public DateTime? FinishedAt { get; set; }

    /// <summary>
    /// The checkpoint the latest start continued from exactly (the run's own newest, or a branch's parent); null when it
    /// started from scratch or from a fine-tune's weights. <see cref="StartCheckpointId"/> is what the run was queued to
    /// start from (held against deletion); this is what the executor loaded when it claimed the run: the evidence.
    /// </summary>
    public int? ResumedFromCheckpointId { get; set; }

    /// <summary>Optimizer steps already taken when the latest start began, as the engine reported them (0 from scratch).</summary>
    public long StartStep { get; set; }

    /// <summary>
    /// The run's tags as a JSON array of strings. Text rather than a table: a run has at most 20 short tags, and the tag
    /// filter matches the quoted tag inside this text, which the tag alphabet (no quotes or backslashes) makes exact.
    /// </summary>
    public string TagsJson { get; set; } = "[]";

    /// <summary>Free text the user keeps with the run; shown as plain text, never as HTML.</summary>
    public string Notes { get; set; } = "";

    /// <summary>Hidden from the run list unless asked for; nothing else changes.</summary>
    public bool Archived { get; set; }

    /// <summary>The job queue the run waits on ("default" unless it asked for another, e.g. "gpu").</summary>
    public string Queue { get; set; } = "default";

    /// <summary>
    /// The fencing token: incremented each time a process takes the run. Every write of the training process names the
    /// token it took, so a process presumed dead that wakes up after another took over writes nothing.
    /// </summary>
    public long LeaseToken { get; set; }

    /// <summary>When the process holding <see cref="LeaseToken"/> last said it still trains; stale past the failover time.</summary>
    public DateTime? LeaseRenewedAt { get; set; }

    /// <summary>A stop asked for on any web instance; the training process reads it with its lease heartbeat.</summary>
    public bool StopRequested { get; set; }

    /// <summary>A "checkpoint now" asked for on any web instance; cleared by the training process that takes it.</summary>
    public bool CheckpointRequested { get; set; }

    public List<EpochMetric> Metrics { get; set; } = [];

    public List<Checkpoint> Checkpoints { get; set; } = [];
}
