using System.Diagnostics;
using System.Globalization;

namespace Dashboard.Bench.Figures;

/// <summary>
/// Figure 7b: kill -9 of the worker training a run, and how long until another worker's training of it is visible: the
/// run's lease taken by that worker (its <c>worker</c> field, polled through web A) and the first epoch it stores, seen by
/// a hub client on web B (the first <c>EpochCompleted</c> whose <c>createdAt</c> is after the killed process is gone,
/// timed from the moment the kill began). Against <see cref="DistributedDeployment.FailoverSeconds"/>.
/// </summary>
internal static class Failover
{
    private const double TargetRatio = 1.5;

    public static async Task<FigureResult> MeasureAsync(DistributedDeployment deployment, BenchSettings settings, CancellationToken cancellationToken)
    {
        var reps = settings.Pick(2, 5);
        var toLease = new List<double>();
        var toEpoch = new List<double>();
        var holders = new List<string>();
        var started = deployment.LiveWorkers.Count;
        for (var rep = 1; rep <= reps; rep++)
        {
            while (deployment.LiveWorkers.Count < 2)
            {
                await deployment.StartWorkerAsync($"w{++started}", cancellationToken);
            }

            var (lease, epoch, holder) = await KillOnceAsync(deployment, rep, cancellationToken);
            toLease.Add(lease);
            toEpoch.Add(epoch);
            holders.Add(holder);
        }

        var failover = DistributedDeployment.FailoverSeconds * 1000.0;
        var ratio = Stats.Median(toEpoch) / failover;
        var result = new FigureResult
        {
            Id = "7b",
            Name = "Failover: kill -9 of the training worker → the run's next epoch from another worker",
            RatioMeaning = string.Create(CultureInfo.InvariantCulture,
                $"= median time from the kill to the first epoch the other worker stores (seen by a hub client on web B) / Training:FailoverSeconds ({DistributedDeployment.FailoverSeconds} s), {reps} kills"),
            Target = string.Create(CultureInfo.InvariantCulture, $"≤ {TargetRatio} × FailoverSeconds"),
            Ratio = ratio,
            Verdict = FigureResult.Judge(ratio <= TargetRatio),
            Absolute = string.Create(CultureInfo.InvariantCulture,
                $"to the next epoch: median {Stats.Median(toEpoch) / 1000:F1} s, max {Stats.Max(toEpoch) / 1000:F1} s; to the lease taken by the other worker: median {Stats.Median(toLease) / 1000:F1} s ({Stats.Median(toLease) / failover:F2} × FailoverSeconds), max {Stats.Max(toLease) / 1000:F1} s"),
        };
        result.Details["failoverSeconds"] = DistributedDeployment.FailoverSeconds;
        result.Details["toNextEpochMs"] = Stats.Round(toEpoch, 0);
        result.Details["toLeaseTakenMs"] = Stats.Round(toLease, 0);
        result.Details["killedWorkers"] = holders;
        result.Note = "Training:FailoverSeconds=6 on both web instances and every worker (the default is 60); what the time is made of: "
            + "the job engine hands the dead worker's job on once it has not been kept alive for FailoverSeconds (Hangfire's sliding invisibility timeout, queue polled every second), "
            + "the new job waits until the run's lease heartbeat is FailoverSeconds old, then the run resumes from its newest durable checkpoint (spirals, a checkpoint every epoch) and trains one epoch; "
            + "the kill comes after the run's second checkpoint; the lease time is polled every 100 ms through web A; "
            + "the worker that takes over is whichever live one is idle, the kill's replacement started just before, so it may never have trained (a cold process: JIT, data load)";
        return result;
    }

    /// <summary>One run on a live worker, killed once it has two checkpoints; the milliseconds to the lease and to the next epoch.</summary>
    private static async Task<(double Lease, double Epoch, string Holder)> KillOnceAsync(DistributedDeployment deployment, int rep, CancellationToken cancellationToken)
    {
        await using var client = await HubClients.ConnectAsync(deployment.B.HubUrl, 1, cancellationToken);

        // When the killed process was gone, in UTC ticks: read on the hub's thread, written here (Volatile takes no DateTime).
        var goneAt = long.MaxValue;
        var nextEpoch = new TaskCompletionSource<DateTime>(TaskCreationOptions.RunContinuationsAsynchronously);
        var runId = 0;
        client.EpochCompleted += (_, run, metrics, at) =>
        {
            if (run == Volatile.Read(ref runId) && metrics.CreatedAt is { } created && created.ToUniversalTime().Ticks > Volatile.Read(ref goneAt))
            {
                nextEpoch.TrySetResult(at);
            }
        };

        // Long enough to outlive the kill and the failover by far; stopped once measured.
        var config = LivePath.Config(5_000);
        var id = await deployment.A.CreateRunAsync(OverheadFigure.RunBody(config, $"bench-failover-{rep}"), cancellationToken);
        Volatile.Write(ref runId, id);
        await client.JoinRunAsync(id, cancellationToken);
        await PollAsync(async () => (await deployment.A.GetJsonAsync($"/api/runs/{id}/checkpoints", cancellationToken)).AsArray().Count >= 2,
            TimeSpan.FromMinutes(3), $"run {id}'s second checkpoint", cancellationToken);
        var holder = deployment.LiveWorkers.SingleOrDefault(w => w.Output.Contains($"Run {id} trains on", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"No live worker says it trains run {id}.");

        // Timed from before the kill, but only epochs stored after the killed process is gone count: under load the kill
        // itself (finding the process tree, SIGKILL, reaping) can take longer than an epoch, which the dying worker stores.
        var killStarted = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        holder.Kill();
        Volatile.Write(ref goneAt, DateTime.UtcNow.Ticks);
        var timeout = TimeSpan.FromSeconds((DistributedDeployment.FailoverSeconds * 5) + 60);
        string? worker = null;
        await PollAsync(async () =>
        {
            worker = (await deployment.A.GetJsonAsync($"/api/runs/{id}", cancellationToken))["worker"]?.GetValue<string>();
            return worker is not null && worker != holder.Name;
        }, timeout, $"another worker taking run {id}'s lease", cancellationToken, interval: TimeSpan.FromMilliseconds(100));
        var lease = clock.Elapsed.TotalMilliseconds;
        var epochAt = await nextEpoch.Task.WaitAsync(timeout, cancellationToken);
        var epoch = (epochAt - killStarted).TotalMilliseconds;

        using (var stop = await deployment.A.Http.PostAsync(new Uri($"/api/runs/{id}/stop", UriKind.Relative), null, cancellationToken))
        {
            stop.EnsureSuccessStatusCode();
        }

        await deployment.A.WaitForRunAsync(id, TimeSpan.FromMinutes(2), cancellationToken);
        return (lease, epoch, $"{holder.Name} → {worker}");
    }

    private static async Task PollAsync(Func<Task<bool>> done, TimeSpan timeout, string what, CancellationToken cancellationToken, TimeSpan? interval = null)
    {
        var clock = Stopwatch.StartNew();
        while (!await done())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"Waited {timeout.TotalSeconds:F0} s for {what}.");
            }

            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(250), cancellationToken);
        }
    }
}
