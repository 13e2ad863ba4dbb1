using System.ComponentModel.DataAnnotations;

namespace Dashboard.Runs.Options;

/// <summary>Bounds of a run's log, so a run that loops on a warning cannot fill the disk or the memory.</summary>
public sealed class RunLogOptions
{
    public const string Section = "RunLog";

    /// <summary>Lines a run keeps; past it one line says later lines were dropped, and they are.</summary>
    [Range(10, 1_000_000)]
    public int MaxLinesPerRun { get; set; } = 10_000;

    /// <summary>Characters of one message; a longer one is cut and says how much was cut.</summary>
    [Range(256, 1_048_576)]
    public int MaxMessageChars { get; set; } = 16 * 1024;

    /// <summary>Lines waiting to be written, all runs together; past it new lines are counted and dropped, not queued.</summary>
    [Range(100, 1_000_000)]
    public int QueueCapacity { get; set; } = 10_000;
}
