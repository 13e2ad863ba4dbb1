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

    /// <summary>The MNIST file; empty means the copy shipped beside the engine.</summary>
    public string MnistPath { get; set; } = "";
}
