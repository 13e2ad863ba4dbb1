using System.Text.Json;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Policies;
using Dashboard.Runs.Contracts;

namespace Dashboard.Bench.Figures;

/// <summary>
/// The rows of figure 4's databases, the same for SQLite and PostgreSQL: runs with real configs, each followed by its
/// <see cref="MetricsPerRun"/> epoch rows and <see cref="CheckpointsPerRun"/> checkpoints. Deterministic for a given
/// number of runs, so both stores hold the same data.
/// </summary>
internal static class MetadataRows
{
    public const int MetricsPerRun = 1_000;
    public const int CheckpointsPerRun = 10;

    private static readonly string[] Statuses = ["completed", "completed", "completed", "stopped", "failed", "interrupted"];

    internal sealed record RunRow(int Id, string Name, string Status, string Dataset, string Model, int Epochs, string ConfigJson, double BestValLoss, int BestValLossEpoch, DateTime CreatedAt, DateTime FinishedAt);

    internal sealed record MetricRow(int RunId, int Epoch, long Step, double Loss, double ValLoss, double Accuracy, double ValAccuracy, double LearningRate, double DurationMs, double SamplesPerSecond, DateTime CreatedAt);

    internal sealed record CheckpointRow(int RunId, int Epoch, long Step, string MetricsJson, string Path, string Sha256, DateTime CreatedAt);

    /// <summary>Every row in insertion order: a run, then its metrics, then its checkpoints.</summary>
    public static IEnumerable<object> Generate(int runs)
    {
        var random = new Random(runs);
        var start = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        for (var run = 1; run <= runs; run++)
        {
            var mnist = run % 3 != 0;
            var config = new TrainingConfig
            {
                Dataset = mnist ? "mnist" : "spirals",
                Model = mnist && run % 2 == 0 ? "cnn" : "mlp",
                Epochs = MetricsPerRun,
                Seed = run,
                Checkpoint = new CheckpointPolicy { EveryEpochs = MetricsPerRun / CheckpointsPerRun },
            };
            var created = start.AddMinutes(run * 30);
            var bestEpoch = random.Next(MetricsPerRun / 2, MetricsPerRun + 1);
            yield return new RunRow(run, $"{config.Model}-{config.Dataset}-bench-{run:D5}", Statuses[run % Statuses.Length], config.Dataset, config.Model,
                MetricsPerRun, RunConfigCodec.Write(config), 0.05 + (random.NextDouble() * 0.1), bestEpoch, created, created.AddMinutes(25));

            for (var epoch = 1; epoch <= MetricsPerRun; epoch++)
            {
                var loss = (2.3 * Math.Exp(-epoch / 150.0)) + 0.05 + (random.NextDouble() * 0.01);
                yield return new MetricRow(run, epoch, epoch * 127L, loss, loss * 1.1, 1 - (loss / 2.5), 1 - (loss / 2.3), 0.001, 1500.0 + random.Next(100), 5400.0 + random.Next(200),
                    created.AddSeconds(epoch * 1.5));
            }

            for (var k = 1; k <= CheckpointsPerRun; k++)
            {
                var epoch = k * (MetricsPerRun / CheckpointsPerRun);
                var metrics = JsonSerializer.Serialize(new Dictionary<string, double>
                {
                    ["loss"] = 0.1,
                    ["valLoss"] = 0.12 + (random.NextDouble() * 0.01),
                    ["accuracy"] = 0.97,
                    ["valAccuracy"] = 0.96,
                    ["learningRate"] = 0.001,
                });
                yield return new CheckpointRow(run, epoch, epoch * 127L, metrics, $"run-{run:D6}/epoch{epoch:D3}-periodic",
                    Convert.ToHexStringLower(BitConverter.GetBytes(random.NextInt64())).PadRight(64, '0'), created.AddSeconds(epoch * 1.5));
            }
        }
    }
}
