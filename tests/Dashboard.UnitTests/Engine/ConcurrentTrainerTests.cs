using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Training;
using Dashboard.Engine.Training.Optimizers;
using Dashboard.UnitTests.Support;

namespace Dashboard.UnitTests.Engine;

/// <summary>
/// Two trainers in one process, as the server runs them (Training:MaxConcurrentRuns above 1) and as the unit tests now
/// run in parallel: each on its own thread, many short runs each, every optimizer. Each run must finish, and finish with
/// bitwise the per-step losses of the same run trained alone. What it can catch depends on timing: with TorchSharp's own
/// optimizers put back it failed natively (the c10::Scalar check) in 2 of 7 runs. The deterministic guard against that
/// cause is <see cref="ScalarLifetimeTests"/>; this one stands for whatever else two runs might share.
/// </summary>
public sealed class ConcurrentTrainerTests
{
    private const int RunsPerThread = 24;

    [Fact]
    public async Task RunAsync_TwoTrainersOnTwoThreadsManyShortRuns_EachMatchesItsRunAlone()
    {
        var configs = OptimizerNames.All.Select((name, i) => Config(name, seed: 100 + i)).ToList();
        var alone = new List<double[]>();
        foreach (var config in configs)
        {
            alone.Add(Losses((await TestEngine.TrainAsync(config)).Observer));
        }

        // Each thread starts its runs in a different order, so the two threads' optimizers and seeds differ at most moments.
        var threads = Enumerable.Range(0, 2).Select(t => Task.Factory.StartNew(
            async () =>
            {
                var mismatches = new List<string>();
                for (var i = 0; i < RunsPerThread; i++)
                {
                    var which = (i + t) % configs.Count;
                    var (outcome, observer) = await TestEngine.TrainAsync(configs[which]);
                    Assert.Equal(TrainingOutcome.Completed, outcome);
                    if (!Losses(observer).SequenceEqual(alone[which]))
                    {
                        mismatches.Add($"thread {t}, run {i} ({configs[which].Optimizer})");
                    }
                }

                return mismatches;
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default).Unwrap()).ToList();

        // Collections as often as they can run: a run's temporaries then die at every possible moment of the other run's
        // native calls, which is how a Scalar freed mid-call showed itself (rarely) with TorchSharp's own optimizers.
        using var stop = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        });
        collector.Start();
        List<string>[] results;
        try
        {
            results = await Task.WhenAll(threads);
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }

        Assert.Empty(results.SelectMany(r => r));
    }

    /// <summary>
    /// One epoch of the spirals in batches of 8: some 300 tiny steps, so the optimizers' native calls take much of the
    /// time, and an epoch-end checkpoint copied on another thread. Short, but every part of a run.
    /// </summary>
    private static TrainingConfig Config(string optimizer, long seed) => new()
    {
        Dataset = SpiralsDataset.DatasetName,
        Model = "mlp",
        Epochs = 1,
        BatchSize = 8,
        LearningRate = 0.01,
        Optimizer = optimizer,
        Seed = seed,
    };

    private static double[] Losses(RecordingObserver observer) => [.. observer.Steps.Select(s => s.Loss)];
}
