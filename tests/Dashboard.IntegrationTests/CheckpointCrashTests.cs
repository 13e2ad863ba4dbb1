using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;

namespace Dashboard.IntegrationTests;

/// <summary>
/// SIGKILL at 30 distinct moments of a checkpoint write. A checkpoint every 5 steps keeps the writer busy about half the
/// time, with gaps about as long as a write between writes. Each kill is aimed from outside the process at a fixed delay
/// after a write's temporary folder appears, the delays spread evenly from 0 to twice the typical time to the rename, so
/// kills land while files are written and synced, around the rename, while the row turns durable, and in the gap before
/// the next write. After each kill the database must be intact and no torn checkpoint listed as durable; after each
/// restart every durable checkpoint must verify and the run must go on from its newest. The kill aims at the fourth write
/// of each process, once the write path is compiled, so the typical time measured applies.
/// </summary>
/// <remarks>
/// A trial is almost all restart (about 3 s of one core, half of it EF Core building its model and compiling the start-up
/// queries); the two spirals and a small MLP keep the rest short: checkpoints of 60 KB, nothing to load, the next write
/// a few milliseconds after training resumes.
/// </remarks>
public sealed class CheckpointCrashTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Trials = 30;

    /// <summary>The last delay, as a multiple of the typical time from a write's start to its rename.</summary>
    private const double LastDelayInWriteTimes = 2.0;

    private DashboardServer _server = null!;

    public async Task InitializeAsync() => _server = await DashboardServer.StartAsync(new Dictionary<string, string>
    {
        ["Training:MaxConcurrentRuns"] = "1",
        ["Training:Device"] = "cpu",
        ["Training:TorchThreads"] = "1", // a tiny model gains nothing from a pool, whose spinning slows a shared machine
        ["Training:AutoResume"] = "true",
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Sigkill_AtMomentsSpreadAcrossCheckpointWrites_NeverListsATornCheckpointAndTheRunGoesOn()
    {
        var run = await _server.CreateRunAsync(new
        {
            name = "crash-writes",
            dataset = "spirals",
            model = "mlp",
            epochs = 10_000,
            batchSize = 64,
            learningRate = 0.01,
            optimizer = "adam",
            seed = 5,
            checkpoint = new { everyEpochs = 1, everySteps = 5, keepLast = 5 },
        });
        await _server.WaitForCheckpointsAsync(run.Id, 1);
        using var watcher = new CheckpointWriteWatcher(_server.CheckpointDirectory);
        await Poll.UntilAsync(_ => Task.FromResult(watcher.CompletedWrites), n => n >= 5, TimeSpan.FromSeconds(60), "5 checkpoint writes to time");

        var phases = new List<string>();
        var orphans = CheckpointDisk.FinishedManifestHashes(_server.CheckpointDirectory).ToHashSet();
        var verified = 0;
        var clock = Stopwatch.StartNew();
        for (var trial = 1; trial <= Trials; trial++)
        {
            var trialStart = clock.Elapsed;

            // The same fractions every time, so a failing moment can be replayed; the write time they scale is measured.
            var writeTime = watcher.TypicalWriteTime;
            var delay = writeTime * (LastDelayInWriteTimes * (trial - 1) / (Trials - 1));
            using var process = Process.GetProcessById(_server.ProcessId!.Value);
            var achieved = await watcher.KillAtWriteAsync(process, delay, skip: 3).WaitAsync(TimeSpan.FromSeconds(60));
            _server.Kill();
            var killedAt = clock.Elapsed;

            // What the kill left, read before start-up reconciliation touches it.
            var torn = CheckpointDisk.TemporaryFolders(_server.CheckpointDirectory);
            var tornWrites = torn.Where(f => !f.Contains("deleting", StringComparison.Ordinal)).ToList();
            var (rows, integrity, foreignKeys, epochs) = await _server.ReadDatabaseAsync(async db => (
                await db.Checkpoints.AsNoTracking().Where(c => c.RunId == run.Id).ToListAsync(),
                await db.Database.SqlQueryRaw<string>("SELECT integrity_check AS Value FROM pragma_integrity_check").ToListAsync(),
                await db.Database.SqlQueryRaw<string>("SELECT \"table\" AS Value FROM pragma_foreign_key_check").ToListAsync(),
                await db.EpochMetrics.Where(m => m.RunId == run.Id).Select(m => m.Epoch).ToListAsync()));
            var tornRows = rows.Where(c => c.Status == "writing").Select(c => c.Id).ToList();
            var durableHashes = rows.Where(c => c.Status == "durable").Select(c => c.Sha256).ToHashSet(StringComparer.OrdinalIgnoreCase);
            var newOrphans = CheckpointDisk.FinishedManifestHashes(_server.CheckpointDirectory).Where(h => !durableHashes.Contains(h) && orphans.Add(h)).ToList();
            var phase = tornWrites.Count > 0 ? "files being written"
                : newOrphans.Count > 0 ? "renamed, row not yet durable"
                : tornRows.Count > 0 ? "row added, folder not yet made"
                : "between writes";
            phases.Add(phase);
            var context = $"trial {trial}: killed {achieved.TotalMilliseconds:0.0} ms after a write began (aimed at {delay.TotalMilliseconds:0.0} ms; typical write {writeTime.TotalMilliseconds:0.0} ms), {phase}";

            Assert.True(integrity.SequenceEqual(["ok"]), $"{context}: integrity_check says {string.Join("; ", integrity)}");
            Assert.True(foreignKeys.Count == 0, $"{context}: foreign keys broken in {string.Join(", ", foreignKeys)}");
            Assert.True(epochs.Count == epochs.Distinct().Count(), $"{context}: an epoch has two metric rows");
            Assert.DoesNotContain(rows, c => c.Status == "durable" && c.Path.Contains(".tmp-", StringComparison.Ordinal));

            var inspectedAt = clock.Elapsed;
            await _server.RestartAsync();
            var restartedAt = clock.Elapsed;
            var checkpoints = await _server.GetCheckpointsAsync(run.Id);

            // Rows the kill left mid-write were settled at start-up, and never as durable. (Rows writing now belong to
            // the resumed run in the new process.)
            Assert.All(checkpoints.Where(c => tornRows.Contains(c.Id)), c => Assert.Contains(c.Status, new[] { "missing", "corrupt" }));
            foreach (var checkpoint in checkpoints.Where(c => c.Status == "durable"))
            {
                // The resumed run keeps writing, and its keep-last policy deletes old checkpoints meanwhile: a folder gone
                // since the listing is fine if its row says deleted. Retention marks the row deleted before it removes the
                // folder, so a row read after the folder was seen gone already says so: no grace period.
                if (CheckpointDisk.Problem(_server.CheckpointDirectory, checkpoint) is { } problem
                    && (await _server.Client.GetFromJsonAsync<CheckpointDto>($"api/checkpoints/{checkpoint.Id}", DashboardServer.Json))!.Status != "deleted")
                {
                    Assert.Fail($"{context}: checkpoint {checkpoint.Id} is listed durable but {problem}");
                }

                verified++;
            }

            // The writes the kill tore are cleared at start-up (new ones may already be under way by now).
            Assert.DoesNotContain(torn, Directory.Exists);
            using var latest = await _server.Client.GetAsync($"api/runs/{run.Id}/checkpoints/latest");
            Assert.True(latest.StatusCode == HttpStatusCode.OK, $"{context}: no latest checkpoint ({latest.StatusCode}).");
            Assert.Equal("durable", (await latest.Content.ReadFromJsonAsync<CheckpointDto>(DashboardServer.Json))!.Status);

            // Auto-resume takes the run up again from that checkpoint: the next trial waits for a write of the new process.
            output.WriteLine(
                $"{context}. Waited {(killedAt - trialStart).TotalSeconds:0.00} s for the write, inspected {(inspectedAt - killedAt).TotalSeconds:0.00} s, "
                + $"restarted {(restartedAt - inspectedAt).TotalSeconds:0.00} s, verified {(clock.Elapsed - restartedAt).TotalSeconds:0.00} s");
        }

        await _server.WaitForRunStatusAsync(run.Id, "running", TimeSpan.FromSeconds(60));

        var tally = string.Join(", ", phases.GroupBy(p => p).Select(g => $"{g.Key}: {g.Count()}"));
        output.WriteLine($"{Trials} kills in {clock.Elapsed.TotalSeconds:0} s; {tally}; {verified} durable checkpoints verified");
        Assert.True(verified >= Trials, $"Only {verified} durable checkpoints were verified over {Trials} kills.");

        // Proof that the moments were spread: some kills tore a write, some came after its files were complete.
        Assert.True(phases.Contains("files being written"), $"No kill landed while files were being written ({tally}).");
        Assert.True(phases.Any(p => p != "files being written"), $"Every kill landed while files were being written ({tally}).");
        using var health = await _server.Client.GetAsync("healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}
