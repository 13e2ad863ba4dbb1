using System.Reflection;
using System.Runtime.InteropServices;
using Dashboard.Engine.Training;
using static TorchSharp.torch;

namespace Dashboard.Bench;

internal sealed record MachineInfo(
    int Cores,
    string CpuModel,
    string Device,
    int TorchThreads,
    string Os,
    string Dotnet,
    string TorchSharp,
    string LoadAverageStart,
    string LoadAverageEnd)
{
    public static MachineInfo Describe(string loadAverageStart) => new(
        Environment.ProcessorCount,
        ReadCpuModel(),
        DeviceSelector.Resolve(DeviceSelector.Auto),
        get_num_threads(),
        RuntimeInformation.OSDescription,
        RuntimeInformation.FrameworkDescription.Replace(".NET ", "", StringComparison.Ordinal),
        TorchSharpVersion(),
        loadAverageStart,
        "");

    /// <summary>The 1-, 5- and 15-minute load averages, as /proc/loadavg gives them.</summary>
    public static string LoadAverage()
    {
        try
        {
            var fields = File.ReadAllText("/proc/loadavg").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return string.Join(' ', fields.Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string ReadCpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? RuntimeInformation.ProcessArchitecture.ToString() : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        }
        catch (IOException)
        {
            return RuntimeInformation.ProcessArchitecture.ToString();
        }
    }

    private static string TorchSharpVersion()
    {
        var assembly = typeof(TorchSharp.torch).Assembly;
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        return informational?.Split('+')[0] ?? assembly.GetName().Version?.ToString() ?? "unknown";
    }
}
