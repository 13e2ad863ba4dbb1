using System.Text.Json.Nodes;
using Dashboard.ServerProcess;

namespace Dashboard.IntegrationTests;

/// <summary>
/// The runtime settings that keep a training host's own CPU off torch's two threads (bench/README.md, "Where a dashboard
/// run's time goes"): they live in the project files and reach the process only through the runtimeconfig.json beside
/// the app, so this reads the very files the server and the worker are started with.
/// </summary>
public sealed class HostTuningTests
{
    public static TheoryData<string, string> Hosts => new()
    {
        { DashboardServer.WebDirectory, "Dashboard.Web" },
        { DashboardWorker.WorkerDirectory, "Dashboard.Worker" },
    };

    [Theory]
    [MemberData(nameof(Hosts))]
    public void RuntimeConfig_TrainingHost_TurnsOffDynamicPgoAndPoolSpinning(string directory, string app)
    {
        var path = Path.Combine(directory, $"{app}.runtimeconfig.json");
        var properties = JsonNode.Parse(File.ReadAllText(path))!["runtimeOptions"]!["configProperties"]!.AsObject();

        Assert.Equal("false", Setting(properties, "System.Runtime.TieredPGO"));
        Assert.Equal("0", Setting(properties, "System.Threading.ThreadPool.UnfairSemaphoreSpinLimit"));
    }

    /// <summary>The SDK writes a setting as a JSON boolean, number or string depending on its value; compared as text.</summary>
    private static string? Setting(JsonObject properties, string name) =>
        properties.TryGetPropertyValue(name, out var value) ? value?.ToJsonString().Trim('"').ToLowerInvariant() : null;
}
