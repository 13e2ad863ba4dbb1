using System.Text;
using Dashboard.Data.Entities;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Datasets.Tabular;
using Dashboard.Engine.Models;
using Dashboard.Engine.Training.Optimizers;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Launching;

namespace Dashboard.ComponentTests.Services;

public sealed class FineTunePlannerTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("finetune-planner-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Plan_ClassFilterOnARegressionTable_IsRefusedOnDatasetFilter()
    {
        var planner = PlannerWithHousePrices();
        var (parent, checkpoint) = RegressionParent();

        var filtered = planner.Plan(parent, checkpoint, new FineTuneRequest { Epochs = 1, DatasetFilter = [0] });
        var plain = planner.Plan(parent, checkpoint, new FineTuneRequest { Epochs = 1 });

        Assert.False(filtered.Succeeded);
        Assert.Contains("regression", Assert.Single(filtered.Errors!["datasetFilter"]));
        Assert.True(plain.Succeeded);
    }

    private FineTunePlanner PlannerWithHousePrices()
    {
        // price = 3·x1 − 2·x2 + a city effect: a numeric target with many values, so the table is a regression one.
        var csv = new StringBuilder("x1,x2,city,price\n");
        for (var i = 0; i < 200; i++)
        {
            var (x1, x2, city) = (i % 17 * 0.5, i % 11 * 0.25, i % 3);
            csv.Append(FormattableString.Invariant($"{x1},{x2},{(city == 0 ? "north" : city == 1 ? "south" : "east")},{(3 * x1) - (2 * x2) + (4 * city) + (i % 7 * 0.01)}\n"));
        }

        var path = Path.Combine(_folder, "houses.csv");
        File.WriteAllText(path, csv.ToString());
        var limits = new CsvTableLimits();
        var table = CsvTableAnalyzer.Analyze(new MemoryStream(Encoding.UTF8.GetBytes(csv.ToString())), "hash", new CsvTableRequest("houses", "price", Features: ["x1", "x2", "city"]), limits);
        var datasets = DatasetRegistry.CreateDefault();
        Assert.True(datasets.TryAdd(new CsvDatasetSource(table, path, limits)));
        var models = ModelRegistry.CreateDefault();
        return new FineTunePlanner(new TrainingConfigValidator(datasets, models), datasets, models);
    }

    private static (Run Parent, Checkpoint Checkpoint) RegressionParent()
    {
        var config = new TrainingConfig
        {
            Dataset = "houses",
            Model = "mlp",
            Epochs = 2,
            BatchSize = 32,
            LearningRate = 0.01,
            Optimizer = OptimizerNames.Adam,
            Seed = 1,
            ValidationSplit = 0.2,
        };
        var parent = new Run { Id = 1, Name = "houses", Status = RunStatus.Completed, Dataset = "houses", Model = "mlp", Epochs = 2, ConfigJson = RunConfigCodec.Write(config) };
        var checkpoint = new Checkpoint { Id = 1, RunId = 1, Epoch = 2, MetricsJson = "{}", Path = "", Kind = "last", Status = CheckpointStatus.Durable };
        return (parent, checkpoint);
    }
}
