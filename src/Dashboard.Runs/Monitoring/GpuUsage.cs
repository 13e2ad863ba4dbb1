using System.Diagnostics;
using System.Globalization;

namespace Dashboard.Runs.Monitoring;

/// <summary>
/// A CUDA device's utilisation and used memory, read with <c>nvidia-smi</c> when it is on the PATH (torch has no call for
/// utilisation). Asked only while a run trains on CUDA; null when the tool is absent, slow or says something else.
/// </summary>
public static class GpuUsage
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    public static async Task<(double Percent, long MemoryBytes)?> ReadAsync(int deviceIndex, CancellationToken cancellationToken)
    {
        if (FindTool("nvidia-smi") is not { } tool)
        {
            return null;
        }

        var start = new ProcessStartInfo(tool, ["--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start);
        if (process is null)
        {
            return null;
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Timeout);
        try
        {
            var output = await process.StandardOutput.ReadToEndAsync(deadline.Token);
            await process.WaitForExitAsync(deadline.Token);
            return process.ExitCode == 0 ? Parse(output, deviceIndex) : null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // A hung driver must not hold up the next reading.
            process.Kill(entireProcessTree: true);
            return null;
        }
    }

    /// <summary>The device's line of <c>nvidia-smi --format=csv,noheader,nounits</c>: "utilisation %, used MiB".</summary>
    public static (double Percent, long MemoryBytes)? Parse(string output, int deviceIndex)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (deviceIndex < 0 || deviceIndex >= lines.Length)
        {
            return null;
        }

        var fields = lines[deviceIndex].Split(',', StringSplitOptions.TrimEntries);
        return fields.Length == 2
            && double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var percent)
            && long.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var mebibytes)
                ? (percent, mebibytes * 1024 * 1024)
                : null;
    }

    /// <summary>The CUDA device index a run's device names ("cuda" or "cuda:1"), or null for any other device.</summary>
    public static int? CudaIndex(string device) =>
        device == "cuda" ? 0
        : device.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(device.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var index) ? index
        : null;

    private static string? FindTool(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, name))
            .FirstOrDefault(File.Exists);
}
