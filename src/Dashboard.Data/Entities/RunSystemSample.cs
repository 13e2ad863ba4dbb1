namespace Dashboard.Data.Entities;

/// <summary>
/// One reading of the machine while a run trained: the process's CPU and memory (shared by every run the process
/// trains at once), torch's thread pool, the run's own throughput, and the GPU's load when it trains on CUDA. Kept few
/// per run: the sampler thins them as a run grows long.
/// </summary>
public sealed class RunSystemSample
{
    public long Id { get; set; }

    public int RunId { get; set; }

    public DateTime Time { get; set; }

    /// <summary>The process's CPU time since the previous reading, as a share of all cores (0–100).</summary>
    public double CpuPercent { get; set; }

    public long RssBytes { get; set; }

    public int TorchThreads { get; set; }

    public double SamplesPerSecond { get; set; }

    /// <summary>Null unless the run trains on CUDA and nvidia-smi answered.</summary>
    public double? GpuPercent { get; set; }

    public long? GpuMemoryBytes { get; set; }
}
