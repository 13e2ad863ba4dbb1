using System.Diagnostics;

namespace Dashboard.Runs.Monitoring;

/// <summary>
/// The dashboard process's CPU use between two readings (from <see cref="Process.TotalProcessorTime"/>) and its resident
/// memory. Both are the whole process's: every run training at once, the web server and the sampler itself.
/// </summary>
public sealed class ProcessUsage
{
    private TimeSpan _cpu;
    private long _timestamp;

    public ProcessUsage()
    {
        using var process = Process.GetCurrentProcess();
        _cpu = process.TotalProcessorTime;
        _timestamp = Stopwatch.GetTimestamp();
    }

    /// <summary>CPU % of all cores since the previous reading (or since this object was made), and resident bytes now.</summary>
    public (double CpuPercent, long RssBytes) Read()
    {
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var now = Stopwatch.GetTimestamp();
        var percent = CpuPercent(cpu - _cpu, Stopwatch.GetElapsedTime(_timestamp, now), Environment.ProcessorCount);
        (_cpu, _timestamp) = (cpu, now);
        return (percent, process.WorkingSet64);
    }

    /// <summary>CPU time used over a wall-clock span, as a share (0–100) of <paramref name="cores"/> cores.</summary>
    public static double CpuPercent(TimeSpan cpuUsed, TimeSpan elapsed, int cores) =>
        elapsed <= TimeSpan.Zero || cores < 1 ? 0 : Math.Clamp(cpuUsed / elapsed / cores * 100, 0, 100);
}
