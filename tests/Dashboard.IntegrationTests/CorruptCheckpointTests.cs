using System.Net;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary>
/// Checkpoint files altered or removed on disk behind the server's back: every action on one is refused with a 409 that
/// says so, the checkpoint is marked <c>corrupt</c> (or <c>missing</c>) from then on, nothing is started from it, and the
/// server and the sound checkpoints carry on.
/// </summary>
[Collection(TrainedServerCollection.Name)]
public sealed class CorruptCheckpointTests(TrainedServerFixture fixture)
{
    private readonly DashboardServer _server = fixture.Server;

    [Fact]
    public async Task EveryAction_WeightsAlteredOnDisk_Returns409SayingCorruptAndMarksIt()
    {
        // One checkpoint per action, each damaged just before its action is the first thing to read it.
        var actions = CheckpointRouteTests.ActionsOn(0).ToList();
        var run = await _server.CreateRunAsync(RunBodies.Spirals(actions.Count + 1, "corrupt-on-disk"));
        await _server.WaitForRunStatusAsync(run.Id, "completed");
        var checkpoints = await _server.GetCheckpointsAsync(run.Id);
        var runsBefore = await _server.RunIdsAsync();

        foreach (var (checkpoint, index) in checkpoints.Take(actions.Count).Select((c, i) => (c, i)))
        {
            FlipAByte(Path.Combine(CheckpointDisk.Folder(_server.CheckpointDirectory, checkpoint), "weights.bin"));
            var (method, path, json) = CheckpointRouteTests.ActionsOn(checkpoint.Id).ElementAt(index);

            using var response = await SendAsync(method, path, json);

            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict);
            Assert.Contains("marked corrupt", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Equal("corrupt", (await _server.GetCheckpointAsync(checkpoint.Id)).Status);

            // From now on it is refused by its status alone, without reading it again.
            using var again = await SendAsync(method, path, json);
            var second = await ProblemAssert.IsProblemAsync(again, HttpStatusCode.Conflict);
            Assert.Contains("is corrupt", second.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(runsBefore, await _server.RunIdsAsync());
        using var health = await _server.Client.GetAsync("healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);

        // The newest, untouched, still serves.
        using var export = await _server.Client.GetAsync($"api/checkpoints/{checkpoints[^1].Id}/export?format=bundle");
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        Assert.Equal("durable", (await _server.GetCheckpointAsync(checkpoints[^1].Id)).Status);
    }

    [Fact]
    public async Task Evaluate_CheckpointFolderRemovedOnDisk_Returns409AndMarksItMissing()
    {
        var run = await _server.CreateRunAsync(RunBodies.Spirals(2, "missing-on-disk"));
        await _server.WaitForRunStatusAsync(run.Id, "completed");
        var checkpoint = (await _server.GetCheckpointsAsync(run.Id))[0];
        Directory.Delete(CheckpointDisk.Folder(_server.CheckpointDirectory, checkpoint), recursive: true);

        using var response = await _server.Client.PostEmptyAsync($"api/checkpoints/{checkpoint.Id}/evaluate");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict);
        Assert.Contains("marked missing", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("missing", (await _server.GetCheckpointAsync(checkpoint.Id)).Status);
        using var resume = await _server.Client.PostEmptyAsync($"api/checkpoints/{checkpoint.Id}/resume");
        await ProblemAssert.IsProblemAsync(resume, HttpStatusCode.Conflict);
    }

    /// <summary>One bit of the file's middle byte, in place: same size, same timestamp granularity, different hash.</summary>
    private static void FlipAByte(string path)
    {
        using var file = File.Open(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = file.Length / 2;
        var value = file.ReadByte();
        file.Position = file.Length / 2;
        file.WriteByte((byte)(value ^ 0x01));
    }

    private async Task<HttpResponseMessage> SendAsync(string method, string path, string? json)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (json is not null)
        {
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        }

        return await _server.Client.SendAsync(request);
    }
}
