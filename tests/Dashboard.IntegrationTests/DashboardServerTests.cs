using Dashboard.ServerProcess;

namespace Dashboard.IntegrationTests;

/// <summary>The test harness itself: a server that cannot start must say why, not just time out.</summary>
public sealed class DashboardServerTests
{
    [Fact]
    public async Task StartAsync_SettingTheAppRejects_FailsWithTheAppsOwnOutput()
    {
        // Training:MaxConcurrentRuns is validated on start ([Range(1, 64)]), so the app exits at once.
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            DashboardServer.StartAsync(new Dictionary<string, string> { ["Training:MaxConcurrentRuns"] = "0" }));

        Assert.Contains("exited with code", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxConcurrentRuns", error.Message, StringComparison.Ordinal);
    }
}
