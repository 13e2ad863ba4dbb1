using System.Diagnostics;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using Dashboard.Engine.Training;
using Dashboard.Engine.Training.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Dashboard.Bench;

/// <summary>
/// The training loop without the dashboard: the engine's registries, splitter and optimizer factory, the same per-batch
/// arithmetic as <see cref="Trainer"/> (loss and accuracy read back, validation after each epoch), and no observer, no
/// database, no hub, no checkpoints. Per-epoch samples/s is timed exactly as the trainer times it: from the epoch's start
/// through its validation.
/// </summary>
internal static class BareLoop
{
    public static IReadOnlyList<double> SamplesPerSecond(TrainingConfig config, string deviceName)
    {
        var device = torch.device(deviceName);
        var datasets = DatasetRegistry.CreateDefault();
        var models = ModelRegistry.CreateDefault();
        var source = datasets.Get(config.Dataset);
        models.TryGet(config.Model, out var architecture);
        var spec = architecture!.DefaultSpec(source.Info);

        using var splits = DatasetSplitter.Split(source.Load(), config.ValidationSplit, config.SampleLimit, device);
        using var model = models.Build(spec, config.Seed);
        model.to(device);
        using var optimizer = OptimizerFactory.Create(config.Optimizer, model.parameters().Where(p => p.requires_grad), config.LearningRate);

        var trainCount = splits.Train.Count;
        var batchCount = (trainCount + config.BatchSize - 1) / config.BatchSize;
        var perEpoch = new List<double>();
        for (var epoch = 1; epoch <= config.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            double lossSum = 0;
            long correct = 0, seen = 0;
            model.train();
            using var order = EpochOrder(config.Seed, epoch, trainCount, device);
            for (var batch = 0; batch < batchCount; batch++)
            {
                var start = batch * config.BatchSize;
                var size = Math.Min(config.BatchSize, trainCount - start);
                using (NewDisposeScope())
                {
                    var indices = order.narrow(0, start, size);
                    var inputs = splits.Train.Features.index_select(0, indices);
                    var targets = splits.Train.Labels.index_select(0, indices);
                    optimizer.ZeroGrad();
                    var logits = model.forward(inputs);
                    var loss = nn.functional.cross_entropy(logits, targets);
                    loss.backward();
                    optimizer.Step();
                    lossSum += loss.item<float>() * (double)size;
                    correct += logits.argmax(1).eq(targets).sum().item<long>();
                }

                seen += size;
            }

            _ = Trainer.Evaluate(model, splits.Validation);
            perEpoch.Add(seen / clock.Elapsed.TotalSeconds);
            GC.KeepAlive(lossSum + correct);
        }

        return perEpoch;
    }

    /// <summary>The trainer's shuffling (a pure function of seed and epoch), so both loops see batches in the same order.</summary>
    private static Tensor EpochOrder(long seed, int epoch, int count, Device device)
    {
        var order = new long[count];
        for (var i = 0; i < count; i++)
        {
            order[i] = i;
        }

        var z = unchecked(((ulong)seed * 0x9E3779B97F4A7C15UL) + (ulong)epoch);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        new Random((int)((z ^ (z >> 31)) & int.MaxValue)).Shuffle(order);
        return tensor(order, [count], ScalarType.Int64, device);
    }
}
