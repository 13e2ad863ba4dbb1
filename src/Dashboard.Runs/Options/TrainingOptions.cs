using System.ComponentModel.DataAnnotations;

namespace Dashboard.Runs.Options;

public sealed class TrainingOptions
{
    public const string Section = "Training";

    /// <summary>"auto" (CUDA when available, else CPU), "cpu" or "cuda".</summary>
    public string Device { get; set; } = "auto";

    [Range(1, 64)]
    public int MaxConcurrentRuns { get; set; } = 1;

    /// <summary>
    /// Threads torch uses inside one operation, shared by all runs; 0 (the default) gives each of the
    /// <see cref="MaxConcurrentRuns"/> an equal share of torch's default, at least one.
    /// </summary>
    [Range(0, 1024)]
    public int TorchThreads { get; set; }

    /// <summary>
    /// Resume runs that a crash or shutdown interrupted as soon as the dashboard starts again (Keras BackupAndRestore).
    /// </summary>
    public bool AutoResume { get; set; } = true;

    /// <summary>Seconds between readings of CPU, memory, threads and throughput while runs train.</summary>
    [Range(1, 3600)]
    public int SystemSampleSeconds { get; set; } = 5;

    /// <summary>
    /// Folders of plugin assemblies (each a plugin's build output), relative ones from the content root; none by default.
    /// A folder or plugin that fails is reported on the Plugins page and /healthz, never fatal.
    /// </summary>
    public List<string> Plugins { get; set; } = [];

    /// <summary>
    /// With <c>Storage:Provider=postgres</c>: true (the default) lets this web process train runs too (a job server of
    /// its own); false only queues them for <c>src/Dashboard.Worker</c> processes. SQLite needs true: its runs train here.
    /// </summary>
    public bool EmbeddedWorker { get; set; } = true;

    /// <summary>
    /// Seconds without a lease heartbeat after which a running run's process is presumed dead and another worker takes
    /// the run over from its newest durable checkpoint (also the job engine's invisibility timeout).
    /// </summary>
    [Range(3, 3600)]
    public int FailoverSeconds { get; set; } = 60;

    /// <summary>
    /// Seconds a run's writes (steps, epoch rows, checkpoint rows, its log) wait out an unreachable database, retrying with
    /// backoff, before the run fails. Training goes on meanwhile only as far as its write buffers allow.
    /// </summary>
    [Range(1, 3600)]
    public int DatabaseRetrySeconds { get; set; } = 120;

    /// <summary>How often the process training a run renews its lease: five beats per failover period, at least one a second.</summary>
    public TimeSpan LeaseHeartbeat => TimeSpan.FromSeconds(Math.Max(1, FailoverSeconds / 5.0));

    /// <summary>The MNIST file; empty means the copy shipped beside the engine.</summary>
    public string MnistPath { get; set; } = "";
}
