using System.Text;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Datasets.Tabular;
using Dashboard.TestSupport;

namespace Dashboard.UnitTests.Support;

/// <summary>A synthetic table generated per test: price = 3·x1 − 2·x2 + a city effect + noise, and a price band class.</summary>
public static class HousePrices
{
    public static string Csv(int rows = 600, int seed = 1) => SyntheticTables.HousePrices(rows, seed);

    public static TableDescription Describe(string csv, string target = "price", string? task = null, bool impute = false, IReadOnlyList<string>? features = null) =>
        CsvTableAnalyzer.Analyze(new MemoryStream(Encoding.UTF8.GetBytes(csv)), "hash", new CsvTableRequest("houses", target, task, features, impute), new CsvTableLimits());

    /// <summary>The table stored in <paramref name="folder"/> and registered beside the built-ins, as the dashboard does.</summary>
    public static (DatasetRegistry Registry, CsvDatasetSource Source) Register(string folder, string csv, string target = "price", IReadOnlyList<string>? features = null)
    {
        var path = Path.Combine(folder, "houses.csv");
        File.WriteAllText(path, csv);
        var source = new CsvDatasetSource(Describe(csv, target, features: features), path, new CsvTableLimits());
        var registry = DatasetRegistry.CreateDefault();
        Assert.True(registry.TryAdd(source));
        return (registry, source);
    }
}
