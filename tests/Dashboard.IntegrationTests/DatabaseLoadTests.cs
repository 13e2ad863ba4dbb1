using System.Collections.Concurrent;
using System.Diagnostics;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.AspNetCore.SignalR.Client;
using Xunit.Abstractions;
using static Dashboard.IntegrationTests.HubRecorder;

namespace Dashboard.IntegrationTests;

/// <summary>
/// Eight runs train at once for a minute, each writing a metric row and a checkpoint every epoch, while 50 hub clients
/// watch everything: SQLite must never answer "database is locked", and every client must get every event of every run,
/// in order, matching what the API has stored.
/// </summary>
public sealed class DatabaseLoadTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Runs = 8;
    private const int Clients = 50;
    private static readonly TimeSpan Load = TimeSpan.FromSeconds(60);

    private readonly ConcurrentQueue<string> _databaseErrors = new();
    private DashboardServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await DashboardServer.StartAsync(new Dictionary<string, string>
        {
            ["Training:MaxConcurrentRuns"] = Runs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Training:Device"] = "cpu",
        });
        _server.OutputLineReceived += line =>
        {
            if (line.Contains("database is locked", StringComparison.OrdinalIgnoreCase) || line.Contains("SQLITE_BUSY", StringComparison.Ordinal))
            {
                _databaseErrors.Enqueue(line);
            }
        };
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task EightRunsAndFiftyClientsForAMinute_NoLockErrorsAndEveryClientGetsEveryEventInOrder()
    {
        var clients = await Task.WhenAll(Enumerable.Range(0, Clients).Select(async _ =>
        {
            var client = await ConnectAsync(_server);
            await client.Connection.InvokeAsync("JoinAll");
            return client;
        }));
        try
        {
            var runs = new List<RunDto>();
            for (var i = 0; i < Runs; i++)
            {
                runs.Add(await _server.CreateRunAsync(new
                {
                    name = $"load-{i}",
                    dataset = "spirals",
                    model = "mlp",
                    epochs = 10_000,
                    batchSize = 64,
                    learningRate = 0.01,
                    optimizer = "adam",
                    seed = 100 + i,
                    checkpoint = new { everyEpochs = 1, keepLast = 3 },
                }));
            }

            foreach (var run in runs)
            {
                await _server.WaitForRunStatusAsync(run.Id, "running");
            }

            var clock = Stopwatch.StartNew();
            await Task.Delay(Load);
            foreach (var run in runs)
            {
                // 409 only for a run that has already ended; the status check below says how.
                using var stop = await _server.StopRunAsync(run.Id);
                Assert.Contains((int)stop.StatusCode, new[] { 202, 409 });
            }

            var ended = new List<RunDto>();
            foreach (var run in runs)
            {
                ended.Add(await _server.WaitForRunAsync(run.Id, r => r.Status is "stopped" or "failed" or "completed", $"run {run.Id} to end"));
            }

            output.WriteLine($"{Runs} runs under load for {clock.Elapsed.TotalSeconds:0} s: {string.Join(", ", ended.Select(r => $"#{r.Id} {r.Status} at epoch {r.CurrentEpoch}"))}");
            Assert.Empty(_databaseErrors);
            foreach (var failed in ended.Where(r => r.Status != "stopped"))
            {
                output.WriteLine($"Run {failed.Id} ended {failed.Status}: {failed.Error}");
            }


            foreach (var run in ended)
            {
                var metrics = await _server.GetMetricsAsync(run.Id);
                var rows = await _server.GetCheckpointsAsync(run.Id);

                // Retention deletes only durable checkpoints, so every row that is durable or deleted was announced once.
                var announced = rows.Where(c => c.Status is "durable" or "deleted").Select(c => c.Id).Order().ToList();
                Assert.True(metrics.Count >= 3, $"Run {run.Id} trained only {metrics.Count} epochs under load.");
                Assert.Equal(Enumerable.Range(1, metrics.Count), metrics.Select(m => m.Epoch));
                Assert.DoesNotContain(rows, c => c.Status is "writing" or "corrupt" or "missing");

                for (var i = 0; i < clients.Length; i++)
                {
                    // The stop comes last, so once a client has it, it has everything before it.
                    var events = await clients[i].WaitForFinalStatusAsync(run.Id, TimeSpan.FromSeconds(60));
                    var context = $"client {i}, run {run.Id}";
                    Assert.True(
                        events.Where(e => e.Name == RunStatusChanged).Select(e => (string)e.Payload).SequenceEqual(["queued", "running", run.Status]),
                        $"{context}: statuses {string.Join(", ", events.Where(e => e.Name == RunStatusChanged).Select(e => e.Payload))}");
                    Assert.Equal(RunStatusChanged, events[^1].Name);
                    var epochs = events.Where(e => e.Name == EpochCompleted).Select(e => (MetricDto)e.Payload).ToList();
                    Assert.True(metrics.SequenceEqual(epochs), $"{context}: {epochs.Count} EpochCompleted events, {metrics.Count} metric rows");
                    var saved = events.Where(e => e.Name == CheckpointSaved).Select(e => (CheckpointDto)e.Payload).ToList();
                    Assert.All(saved, c => Assert.Equal("durable", c.Status));
                    Assert.True(saved.Select(c => c.Id).SequenceEqual(announced), $"{context}: CheckpointSaved ids differ from the durable or deleted rows");
                }
            }

            // Checked last, so that a run which failed on its own still had its events and rows checked above.
            Assert.All(ended, r => Assert.True(r.Status == "stopped", $"Run {r.Id} ended {r.Status}: {r.Error}"));
        }
        finally
        {
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
        }
    }
}
