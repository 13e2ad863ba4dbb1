using System.ComponentModel.DataAnnotations;

namespace Dashboard.Web.Options;

public sealed class TrainingOptions
{
    public const string Section = "Training";

    /// <summary>"auto" (CUDA when available, else CPU), "cpu" or "cuda".</summary>
    public string Device { get; set; } = "auto";

    [Range(1, 64)]
    public int MaxConcurrentRuns { get; set; } = 1;

    /// <summary>
    /// Resume runs that a crash or shutdown interrupted as soon as the dashboard starts again (Keras BackupAndRestore).
    /// </summary>
    public bool AutoResume { get; set; } = true;

    /// <summary>The MNIST file; empty means the copy shipped beside the engine.</summary>
    public string MnistPath { get; set; } = "";
}
