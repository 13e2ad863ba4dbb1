using Dashboard.Data.Entities;

namespace Dashboard.Runs.Contracts;

/// <summary>
/// One reading of <c>GET /api/runs/{id}/system</c>. CPU and memory are the whole process's, shared by every run it trains
/// at once; samples per second are the run's own; the GPU fields are null unless the run trains on CUDA.
/// </summary>
public sealed record SystemSampleDto(
    DateTime Time,
    double CpuPercent,
    long RssBytes,
    int TorchThreads,
    double SamplesPerSecond,
    double? GpuPercent = null,
    long? GpuMemoryBytes = null)
{
    public static SystemSampleDto From(RunSystemSample row) =>
        new(DateTime.SpecifyKind(row.Time, DateTimeKind.Utc), row.CpuPercent, row.RssBytes, row.TorchThreads, row.SamplesPerSecond, row.GpuPercent, row.GpuMemoryBytes);
}
