using System.ComponentModel.DataAnnotations;

namespace Dashboard.Runs.Options;

/// <summary>Who this training process is in the <c>Workers</c> table (<c>Worker:Name</c>, <c>Worker:Queues</c>).</summary>
public sealed class WorkerOptions : IValidatableObject
{
    public const string Section = "Worker";

    /// <summary>Unique among the workers on one database; empty means "host name-process id", unique on one machine.</summary>
    [MaxLength(200)]
    [RegularExpression(@"^[A-Za-z0-9._:@-]*$", ErrorMessage = "Worker:Name may hold letters, digits and . _ : @ - only.")]
    public string Name { get; set; } = "";

    /// <summary>The queues this worker takes runs from, comma-separated, in order of preference (e.g. "gpu" or "gpu,default").</summary>
    [MaxLength(400)]
    public string Queues { get; set; } = RunQueueName.Default;

    /// <summary>Seconds between heartbeats.</summary>
    [Range(1, 300)]
    public int HeartbeatSeconds { get; set; } = 5;

    /// <summary>A worker whose last heartbeat is older than this many seconds is listed as not alive.</summary>
    [Range(2, 3600)]
    public int AliveSeconds { get; set; } = 30;

    /// <summary>
    /// Seconds a stopping process (SIGTERM) gives its runs to finish their batch, write their interrupt checkpoint and be
    /// handed back. A large model's checkpoint on a slow disk may need more than the default.
    /// </summary>
    [Range(5, 3600)]
    public int ShutdownSeconds { get; set; } = 60;

    /// <summary>
    /// What the host waits beyond <see cref="ShutdownSeconds"/>: the services that stop after the runs (the heartbeat's
    /// "stopped", the relay) and the job engine's own bookkeeping.
    /// </summary>
    public static readonly TimeSpan HostShutdownMargin = TimeSpan.FromSeconds(10);

    /// <summary>How long the runs of a stopping process may take to hand back (<see cref="ShutdownSeconds"/>).</summary>
    public TimeSpan RunsShutdownTimeout => TimeSpan.FromSeconds(ShutdownSeconds);

    /// <summary>
    /// The host's shutdown timeout: past it the process exits whatever is still stopping, so it must cover the runs' hand-back,
    /// or SIGTERM would end a half-written interrupt checkpoint (the host's own default is 30 s).
    /// </summary>
    public TimeSpan HostShutdownTimeout => RunsShutdownTimeout + HostShutdownMargin;

    /// <summary><see cref="Name"/>, or the default made of the host name and this process's id.</summary>
    public string EffectiveName => string.IsNullOrWhiteSpace(Name) ? $"{Environment.MachineName}-{Environment.ProcessId}" : Name.Trim();

    /// <summary>The queue names, trimmed, each once, in the order given.</summary>
    public IReadOnlyList<string> QueueList =>
        [.. Queues.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal)];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // The job engine serves only queue names a run can ask for.
        if (QueueList.Count == 0)
        {
            yield return new ValidationResult($"Worker:Queues is empty; name at least one queue, like '{RunQueueName.Default}'.", [nameof(Queues)]);
        }

        foreach (var queue in QueueList.Where(q => RunQueueName.Problem(q) is not null))
        {
            yield return new ValidationResult($"Worker:Queues has '{queue}': {RunQueueName.Problem(queue)}", [nameof(Queues)]);
        }

        // A bound no longer than the beat would list a healthy worker as gone between two beats.
        if (AliveSeconds <= HeartbeatSeconds)
        {
            yield return new ValidationResult(
                $"Worker:AliveSeconds ({AliveSeconds}) must be longer than Worker:HeartbeatSeconds ({HeartbeatSeconds}).",
                [nameof(AliveSeconds)]);
        }
    }
}
