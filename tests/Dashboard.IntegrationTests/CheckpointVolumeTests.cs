using System.Net;
using System.Net.Http.Json;
using Dashboard.Runs.Checkpoints;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary>
/// The checkpoint folder away as a whole (an unmounted volume, a moved folder) against one checkpoint gone: the first marks
/// nothing and reports unhealthy until a re-audit finds it back; the second marks that one missing, and a re-audit turns it
/// durable again once its files are back. Each test restarts its own server.
/// </summary>
public sealed class CheckpointVolumeTests : IAsyncLifetime
{
    private DashboardServer _server = null!;

    public async Task InitializeAsync() => _server = await DashboardServer.StartAsync(new Dictionary<string, string>
    {
        ["Training:MaxConcurrentRuns"] = "1",
        ["Training:Device"] = "cpu",
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Restart_CheckpointFolderAway_ReportsUnhealthyMarksNothingUntilReauditFindsItBack()
    {
        var run = await _server.CreateRunAsync(RunBodies.Spirals(2, "volume-away"));
        await _server.WaitForRunStatusAsync(run.Id, "completed");
        var checkpoints = await _server.GetCheckpointsAsync(run.Id);
        Assert.Equal(2, checkpoints.Count(c => c.Status == "durable"));
        await _server.StopAsync();

        // What an unmounted volume leaves: its mount point, empty.
        var away = $"{_server.CheckpointDirectory}-unmounted";
        Directory.Move(_server.CheckpointDirectory, away);
        Directory.CreateDirectory(_server.CheckpointDirectory);
        await _server.RestartAsync(allowUnhealthy: true);

        using (var health = await _server.Client.GetAsync("healthz"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Contains("unmounted", await health.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.All(await _server.GetCheckpointsAsync(run.Id), c => Assert.Equal("durable", c.Status));

        // Using one while the folder is away is refused, and still marks nothing; nor can it be deleted.
        using (var evaluate = await _server.Client.PostEmptyAsync($"api/checkpoints/{checkpoints[0].Id}/evaluate"))
        {
            await ProblemAssert.IsProblemAsync(evaluate, HttpStatusCode.Conflict);
        }

        using (var delete = await _server.Client.DeleteAsync($"api/checkpoints/{checkpoints[0].Id}"))
        {
            await ProblemAssert.IsProblemAsync(delete, HttpStatusCode.Conflict);
        }

        using (var early = await _server.Client.PostEmptyAsync("api/checkpoints/audit"))
        {
            await ProblemAssert.IsProblemAsync(early, HttpStatusCode.ServiceUnavailable);
        }

        Assert.All(await _server.GetCheckpointsAsync(run.Id), c => Assert.Equal("durable", c.Status));

        Directory.Delete(_server.CheckpointDirectory);
        Directory.Move(away, _server.CheckpointDirectory);
        using var audit = await _server.Client.PostEmptyAsync("api/checkpoints/audit");

        Assert.Equal(HttpStatusCode.OK, audit.StatusCode);
        Assert.Equal(new CheckpointAuditDto(0, 0, 0), await audit.Content.ReadFromJsonAsync<CheckpointAuditDto>(DashboardServer.Json));
        using (var health = await _server.Client.GetAsync("healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        using var evaluated = await _server.Client.PostEmptyAsync($"api/checkpoints/{checkpoints[0].Id}/evaluate");
        Assert.Equal(HttpStatusCode.OK, evaluated.StatusCode);
    }

    [Fact]
    public async Task Reaudit_FolderOfACheckpointMarkedMissingIsBack_MakesItDurableAgain()
    {
        var run = await _server.CreateRunAsync(RunBodies.Spirals(2, "one-folder-away"));
        await _server.WaitForRunStatusAsync(run.Id, "completed");
        var checkpoints = await _server.GetCheckpointsAsync(run.Id);
        await _server.StopAsync();

        var folder = CheckpointDisk.Folder(_server.CheckpointDirectory, checkpoints[0]);
        var away = Path.Combine(_server.RootDirectory, "one-checkpoint-away");
        Directory.Move(folder, away);
        await _server.RestartAsync();

        // One folder gone from a folder that is otherwise there: that one is missing, the dashboard healthy.
        Assert.Equal(["missing", "durable"], (await _server.GetCheckpointsAsync(run.Id)).Select(c => c.Status));
        using (var stillAway = await _server.Client.PostEmptyAsync("api/checkpoints/audit"))
        {
            Assert.Equal(new CheckpointAuditDto(0, 1, 0), await stillAway.Content.ReadFromJsonAsync<CheckpointAuditDto>(DashboardServer.Json));
        }

        Directory.Move(away, folder);
        using var audit = await _server.Client.PostEmptyAsync("api/checkpoints/audit");

        Assert.Equal(HttpStatusCode.OK, audit.StatusCode);
        Assert.Equal(new CheckpointAuditDto(1, 0, 0), await audit.Content.ReadFromJsonAsync<CheckpointAuditDto>(DashboardServer.Json));
        Assert.Equal(["durable", "durable"], (await _server.GetCheckpointsAsync(run.Id)).Select(c => c.Status));
        using var evaluated = await _server.Client.PostEmptyAsync($"api/checkpoints/{checkpoints[0].Id}/evaluate");
        Assert.Equal(HttpStatusCode.OK, evaluated.StatusCode);
    }
}
