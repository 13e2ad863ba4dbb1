using System.Collections.Concurrent;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Training.Optimizers;

namespace Dashboard.Bench.Figures;

/// <summary>
/// How late an epoch reaches hub clients, as figure 5 measures it: a run of many short spirals epochs, clients joined to
/// it, and for every client and epoch the receive time minus the metric row's <c>createdAt</c> (the moment the process
/// that trains stored the epoch; every process here shares the machine's clock). Used by figure 5 (one server) and 7a
/// (the run created on one web instance, trained by a worker, the clients on another instance).
/// </summary>
internal static class LivePath
{
    /// <summary>Epochs left out at a run's start: connections and code paths still warming up.</summary>
    public const int WarmUpEpochs = 3;

    /// <summary>Lateness of every client and epoch past the warm-up, the median time between epochs, hub messages received.</summary>
    internal sealed record Sample(List<double> Latencies, double EpochIntervalMs, long Messages);

    /// <summary>Short spirals epochs (600 samples), so many epochs fit in a few seconds.</summary>
    public static TrainingConfig Config(int epochs) => new()
    {
        Dataset = "spirals",
        Model = "mlp",
        Epochs = epochs,
        BatchSize = 32,
        LearningRate = 0.01,
        Optimizer = OptimizerNames.Adam,
        Seed = TrainerWorker.Seed,
        SampleLimit = 600,
    };

    /// <summary>
    /// Connects <paramref name="clientCount"/> clients to <paramref name="hubUrl"/>, creates a run of <paramref name="config"/>
    /// through <paramref name="createOn"/>, joins them to it and waits for its end.
    /// </summary>
    public static async Task<Sample> MeasureAsync(
        DashboardServer createOn, Uri hubUrl, int clientCount, TrainingConfig config, string name, CancellationToken cancellationToken)
    {
        await using var clients = await HubClients.ConnectAsync(hubUrl, clientCount, cancellationToken);
        var latencies = new ConcurrentBag<double>();
        var runId = 0;
        clients.EpochCompleted += (_, run, metrics, at) =>
        {
            if (run == Volatile.Read(ref runId) && metrics.Epoch > WarmUpEpochs && metrics.CreatedAt is { } created)
            {
                latencies.Add((at - created).TotalMilliseconds);
            }
        };
        var id = await createOn.CreateRunAsync(OverheadFigure.RunBody(config, name), cancellationToken);
        Volatile.Write(ref runId, id);
        await clients.JoinRunAsync(id, cancellationToken);
        await createOn.WaitForRunAsync(id, TimeSpan.FromMinutes(10), cancellationToken);

        // The last epochs' messages may still be on their way (through Redis, for another instance's clients).
        await Task.Delay(500, cancellationToken);
        var created = (await createOn.MetricsAsync(id, cancellationToken)).Select(m => m!["createdAt"]!.GetValue<DateTime>()).ToList();
        var intervals = created.Zip(created.Skip(1), (a, b) => (b - a).TotalMilliseconds);
        return new Sample([.. latencies], Stats.Median(intervals), clients.Messages);
    }

    /// <summary>p50, p95 and max of a sample, rounded, for the JSON.</summary>
    public static Dictionary<string, double> Summary(Sample sample) => new()
    {
        ["p50"] = Stats.Round(Stats.Median(sample.Latencies), 2),
        ["p95"] = Stats.Round(Stats.Percentile(sample.Latencies, 95), 2),
        ["max"] = Stats.Round(Stats.Max(sample.Latencies), 2),
        ["samples"] = sample.Latencies.Count,
    };
}
