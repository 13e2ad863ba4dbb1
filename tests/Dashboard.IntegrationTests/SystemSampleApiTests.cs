using System.Net;
using System.Net.Http.Json;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.EntityFrameworkCore;
using static Dashboard.IntegrationTests.HubRecorder;

namespace Dashboard.IntegrationTests;

/// <summary>
/// <c>GET /api/runs/{id}/system</c> against a real server sampling every second: a training run gathers real readings,
/// the hub sends them live, and deleting the run removes them.
/// </summary>
public sealed class SystemSampleApiTests : IAsyncLifetime
{
    private DashboardServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await DashboardServer.StartAsync(new Dictionary<string, string> { ["Training:SystemSampleSeconds"] = "1" });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task GetSystem_RunTraining_HasRealSamplesLiveOnTheHubAndDeletedWithTheRun()
    {
        var run = await _server.CreateRunAsync(RunBodies.SlotHolder("system-samples"));
        await using var hub = await ConnectAsync(_server);
        await hub.Connection.InvokeAsync("JoinRun", run.Id);
        await _server.WaitForRunStatusAsync(run.Id, "running");

        var samples = await Poll.UntilAsync(
            ct => _server.Client.GetFromJsonAsync<List<SystemSampleDto>>($"api/runs/{run.Id}/system", DashboardServer.Json, ct)!,
            list => list!.Count(s => s.SamplesPerSecond > 0) >= 3,
            TimeSpan.FromSeconds(90),
            "three samples taken while the run trained");
        await hub.WaitForAsync(run.Id, e => e.Any(x => x.Name == SystemSample), TimeSpan.FromSeconds(15), "a SystemSample on the hub");
        (await _server.StopRunAsync(run.Id)).Dispose();
        await _server.WaitForRunStatusAsync(run.Id, "stopped");

        Assert.All(samples!, s => Assert.True(s.RssBytes > 0 && s.TorchThreads >= 1 && s.GpuPercent is null && s.GpuMemoryBytes is null, $"Unexpected sample {s}"));
        Assert.All(samples!.Where(s => s.SamplesPerSecond > 0), s => Assert.True(s.CpuPercent > 0, $"A training sample shows no CPU: {s}"));
        Assert.Equal(samples!.OrderBy(s => s.Time).Select(s => s.Time), samples!.Select(s => s.Time));
        Assert.True(await CountSamplesAsync(run.Id) >= samples!.Count);

        using var deleted = await _server.Client.DeleteAsync($"api/runs/{run.Id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(0, await CountSamplesAsync(run.Id));
        using var gone = await _server.Client.GetAsync($"api/runs/{run.Id}/system");
        await ProblemAssert.IsProblemAsync(gone, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task GetSystem_UnknownRun_Returns404Problem()
    {
        using var response = await _server.Client.GetAsync("api/runs/424242/system");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Contains("424242", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    private Task<int> CountSamplesAsync(int runId) =>
        _server.ReadDatabaseAsync(db => db.RunSystemSamples.CountAsync(s => s.RunId == runId));
}
