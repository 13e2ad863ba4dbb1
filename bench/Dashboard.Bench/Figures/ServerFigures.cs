using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;

namespace Dashboard.Bench.Figures;

/// <summary>
/// Figures measured against the real dashboard running as a child process: instrumentation overhead (1), resume latency
/// (3) and the live path (5). One server serves all three, in that order.
/// </summary>
internal static class ServerFigures
{
    public static async Task<IReadOnlyList<FigureResult>> RunAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        var results = new List<FigureResult>();
        await using var server = await DashboardServer.StartAsync(Path.Combine(settings.WorkDirectory, "server"), cancellationToken);
        int? resumable = null;
        if (settings.Runs("1"))
        {
            try
            {
                var (overhead, lastRun) = await OverheadFigure.RunAsync(server, PyTorchAnchor.Find(BenchProgram.RepoRoot()), settings, cancellationToken);
                results.AddRange(overhead);
                resumable = lastRun == 0 ? null : lastRun;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                results.Add(BenchProgram.Failure("1", "Instrumentation overhead", e));
            }
        }

        if (settings.Runs("3"))
        {
            results.Add((await Guard("3", "Resume latency", async () => (await ResumeAsync(server, resumable, settings, cancellationToken), 0))).Result);
        }

        if (settings.Runs("5"))
        {
            results.Add((await Guard("5", "Live path", async () => (await LivePathAsync(server, settings, cancellationToken), 0))).Result);
        }

        return results;
    }

    /// <summary>A figure that fails is reported as an error; the others still run.</summary>
    private static async Task<(FigureResult Result, int Extra)> Guard(string id, string name, Func<Task<(FigureResult, int)>> measure)
    {
        try
        {
            return await measure();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return (BenchProgram.Failure(id, name, e), 0);
        }
    }

    /// <summary>
    /// Figure 3: from POST /api/checkpoints/{id}/resume to the first finished training step, seen by a hub client as the
    /// first EpochProgress of the resumed epoch (the trainer reports its first batch at once), against one epoch's time.
    /// </summary>
    private static async Task<FigureResult> ResumeAsync(DashboardServer server, int? runId, BenchSettings settings, CancellationToken cancellationToken)
    {
        var config = TrainerWorker.Config(2, settings.Pick<int?>(2000, null));
        if (runId is not { } run)
        {
            run = await server.CreateRunAsync(OverheadFigure.RunBody(config, "bench-resume"), cancellationToken);
            await server.WaitForRunAsync(run, TimeSpan.FromMinutes(20), cancellationToken);
        }

        await using var client = await HubClients.ConnectAsync(server.HubUrl, 1, cancellationToken);
        await client.JoinRunAsync(run, cancellationToken);
        var progress = new ConcurrentQueue<(int Epoch, int Batch, DateTime At)>();
        var statuses = new ConcurrentQueue<(string Status, DateTime At)>();
        client.EpochProgress += (_, id, p, at) =>
        {
            if (id == run)
            {
                progress.Enqueue((p.Epoch, p.Batch, at));
            }
        };
        client.RunStatusChanged += (_, id, status, at) =>
        {
            if (id == run)
            {
                statuses.Enqueue((status, at));
            }
        };

        var latencies = new List<double>();
        var toRunning = new List<double>();
        var epochMs = new List<double>();
        var firstBatches = new List<int>();
        for (var rep = 0; rep < settings.Pick(2, 5); rep++)
        {
            var latest = await server.GetJsonAsync($"/api/runs/{run}/checkpoints/latest", cancellationToken);
            var target = latest["epoch"]!.GetValue<int>() + 1;
            progress.Clear();
            statuses.Clear();
            var posted = DateTime.UtcNow;
            using (var response = await server.Http.PostAsJsonAsync(new Uri($"/api/checkpoints/{latest["id"]}/resume", UriKind.Relative), new { epochs = target }, cancellationToken))
            {
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"Resume answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
                }
            }

            await server.WaitForRunAsync(run, TimeSpan.FromMinutes(10), cancellationToken);
            var first = progress.Where(p => p.Epoch == target).OrderBy(p => p.At).FirstOrDefault();
            if (first.At == default)
            {
                throw new InvalidOperationException($"No EpochProgress arrived for epoch {target} of run {run}.");
            }

            latencies.Add((first.At - posted).TotalMilliseconds);
            firstBatches.Add(first.Batch);
            var running = statuses.FirstOrDefault(s => s.Status == "running");
            if (running.At != default)
            {
                toRunning.Add((running.At - posted).TotalMilliseconds);
            }

            var metrics = await server.MetricsAsync(run, cancellationToken);
            epochMs.Add(metrics.Single(m => m!["epoch"]!.GetValue<int>() == target)!["durationMs"]!.GetValue<double>());
        }

        var result = new FigureResult
        {
            Id = "3",
            Name = "Resume latency: POST /api/checkpoints/{id}/resume → first finished training step",
            RatioMeaning = "= resume latency / one epoch's time (same run)",
            Target = "none set (report)",
            Ratio = Stats.Median(latencies) / Stats.Median(epochMs),
            Verdict = FigureResult.NoTarget,
            Absolute = string.Create(CultureInfo.InvariantCulture,
                $"{Stats.Median(latencies):F0} ms to the first step (status running after {Stats.Median(toRunning):F0} ms); one epoch {Stats.Median(epochMs):F0} ms"),
        };
        result.Details["latencyMs"] = Stats.Round(latencies, 1);
        result.Details["toRunningStatusMs"] = Stats.Round(toRunning, 1);
        result.Details["epochMs"] = Stats.Round(epochMs, 1);
        result.Details["firstReportedBatch"] = firstBatches;
        if (firstBatches.Any(b => b != 1))
        {
            result.Note = "the first progress report came after more than one batch, so the latency is an upper bound";
        }

        return result;
    }

    /// <summary>
    /// Figure 5: time from the engine reporting an epoch (the metric row's createdAt) to a .NET hub client receiving
    /// EpochCompleted, with 1 and with 100 clients joined, over many short spirals epochs.
    /// </summary>
    private static async Task<FigureResult> LivePathAsync(DashboardServer server, BenchSettings settings, CancellationToken cancellationToken)
    {
        var epochs = settings.Pick(60, 200);
        var config = LivePath.Config(epochs);
        var one = await LivePath.MeasureAsync(server, server.HubUrl, 1, config, "bench-live-1", cancellationToken);
        var hundred = await LivePath.MeasureAsync(server, server.HubUrl, 100, config, "bench-live-100", cancellationToken);
        var p95One = Stats.Percentile(one.Latencies, 95);
        var p95Hundred = Stats.Percentile(hundred.Latencies, 95);
        var result = new FigureResult
        {
            Id = "5",
            Name = $"Live path: engine epoch → hub client EpochCompleted (spirals, {epochs} short epochs)",
            RatioMeaning = "= p95 with 100 clients / p95 with 1 client",
            Target = "p95 ≤ 50 ms at 100 clients",
            Ratio = p95Hundred / p95One,
            Verdict = FigureResult.Judge(p95Hundred <= 50),
            Absolute = string.Create(CultureInfo.InvariantCulture,
                $"1 client p50 {Stats.Median(one.Latencies):F1} / p95 {p95One:F1} ms; 100 clients p50 {Stats.Median(hundred.Latencies):F1} / p95 {p95Hundred:F1} ms; an epoch every {one.EpochIntervalMs:F0} / {hundred.EpochIntervalMs:F0} ms"),
        };
        result.Details["samplesOneClient"] = one.Latencies.Count;
        result.Details["samplesHundredClients"] = hundred.Latencies.Count;
        result.Details["oneClientMs"] = new Dictionary<string, double>
        {
            ["p50"] = Stats.Round(Stats.Median(one.Latencies), 2),
            ["p95"] = Stats.Round(p95One, 2),
            ["max"] = Stats.Round(Stats.Max(one.Latencies), 2),
        };
        result.Details["hundredClientsMs"] = new Dictionary<string, double>
        {
            ["p50"] = Stats.Round(Stats.Median(hundred.Latencies), 2),
            ["p95"] = Stats.Round(p95Hundred, 2),
            ["max"] = Stats.Round(Stats.Max(hundred.Latencies), 2),
        };
        result.Details["epochIntervalMs"] = new Dictionary<string, double>
        {
            ["oneClient"] = Stats.Round(one.EpochIntervalMs, 1),
            ["hundredClients"] = Stats.Round(hundred.EpochIntervalMs, 1),
        };
        result.Details["hubMessagesReceived"] = new Dictionary<string, long> { ["oneClient"] = one.Messages, ["hundredClients"] = hundred.Messages };
        result.Note = "latency = client receive time − the metric row's createdAt (both UTC on this machine); it covers the SQLite insert, the broadcaster, the hub relay, loopback and client deserialisation"
            + (result.Verdict == FigureResult.Missed ? string.Create(CultureInfo.InvariantCulture,
                $"; missed: with 100 clients the bench's own 100 connections, the server and training share {Environment.ProcessorCount} cores, and each epoch fans out ~3 hub messages × 100 clients") : "");
        return result;
    }
}
