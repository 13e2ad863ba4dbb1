using System.Net;
using System.Net.Http.Json;
using Dashboard.TestSupport;
using Dashboard.Web.Contracts;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.IntegrationTests;

/// <summary>
/// SIGKILL while checkpoints are being written, at many moments: a checkpoint every step keeps the writer busy almost
/// all the time, so most kills land inside a write. After each restart no torn checkpoint may be listed as durable, every
/// durable one must load and verify, and the run must go on from its newest.
/// </summary>
public sealed class CheckpointCrashTests : IAsyncLifetime
{
    private const int Trials = 12;

    private DashboardServer _server = null!;

    public async Task InitializeAsync() => _server = await DashboardServer.StartAsync(new Dictionary<string, string>
    {
        ["Training:MaxConcurrentRuns"] = "1",
        ["Training:Device"] = "cpu",
        ["Training:AutoResume"] = "true",
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Sigkill_WhileWritingCheckpoints_NeverLeavesATornCheckpointListedAndTheRunGoesOn()
    {
        var run = await _server.CreateRunAsync(new
        {
            name = "crash-writes",
            dataset = "mnist",
            model = "mlp",
            epochs = 500,
            batchSize = 32,
            sampleLimit = 2000,
            seed = 5,
            checkpoint = new { everyEpochs = 1, everySteps = 1, keepLast = 20 },
        });

        // Seeded, so a failing moment can be replayed; printed in the assertion messages.
        var random = new Random(20261123);
        var verified = 0;
        var tornSeen = 0;
        for (var trial = 1; trial <= Trials; trial++)
        {
            await _server.WaitForCheckpointsAsync(run.Id, 1, TimeSpan.FromSeconds(120));
            var delay = random.Next(50, 600);
            await Task.Delay(delay);
            _server.Kill();
            var torn = CheckpointDisk.TemporaryFolders(_server.CheckpointDirectory);
            var tornRows = await _server.ReadDatabaseAsync(db => db.Checkpoints.Where(c => c.Status == "writing").Select(c => c.Id).ToListAsync());
            await _server.RestartAsync();

            var context = $"trial {trial}, killed {delay} ms after a durable checkpoint";
            var checkpoints = await _server.GetCheckpointsAsync(run.Id);

            // Rows the kill left mid-write were settled at start-up, and never as durable. (Rows writing now belong to
            // the resumed run in the new process.)
            Assert.All(checkpoints.Where(c => tornRows.Contains(c.Id)), c => Assert.Contains(c.Status, new[] { "missing", "corrupt" }));
            foreach (var checkpoint in checkpoints.Where(c => c.Status == "durable"))
            {
                // The resumed run keeps writing, and its keep-last policy deletes old checkpoints meanwhile: a folder gone
                // since the listing is fine if its row now says deleted.
                if (CheckpointDisk.Problem(_server.CheckpointDirectory, checkpoint) is { } problem
                    && (await _server.Client.GetFromJsonAsync<CheckpointDto>($"api/checkpoints/{checkpoint.Id}", DashboardServer.Json))!.Status != "deleted")
                {
                    Assert.Fail($"{context}: checkpoint {checkpoint.Id} is listed durable but {problem}");
                }

                verified++;
            }

            // The writes the kill tore are cleared at start-up (new ones may already be under way by now).
            Assert.DoesNotContain(torn, Directory.Exists);
            tornSeen += torn.Count + tornRows.Count;
            using var latest = await _server.Client.GetAsync($"api/runs/{run.Id}/checkpoints/latest");
            Assert.True(latest.StatusCode == HttpStatusCode.OK, $"{context}: no latest checkpoint ({latest.StatusCode}).");
            var newest = await latest.Content.ReadFromJsonAsync<CheckpointDto>(DashboardServer.Json);
            Assert.Equal("durable", newest!.Status);

            // Auto-resume takes the run up again from that checkpoint in the new process.
            var resumed = await _server.WaitForRunStatusAsync(run.Id, "running", TimeSpan.FromSeconds(60));
            Assert.True(resumed.CurrentEpoch >= 0, context);
        }

        Assert.True(verified >= Trials, $"Only {verified} durable checkpoints were verified over {Trials} kills.");

        // Proof that the kills did hit writes in progress, or the test would prove nothing.
        Assert.True(tornSeen > 0, $"None of {Trials} kills landed inside a checkpoint write.");
        using var health = await _server.Client.GetAsync("healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}
