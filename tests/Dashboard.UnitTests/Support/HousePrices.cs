using System.Globalization;
using System.Text;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Datasets.Tabular;

namespace Dashboard.UnitTests.Support;

/// <summary>A synthetic table generated per test: price = 3·x1 − 2·x2 + a city effect + noise, and a price band class.</summary>
public static class HousePrices
{
    public static string Csv(int rows = 600, int seed = 1)
    {
        var random = new Random(seed);
        string[] cities = ["north", "south", "east"];
        var text = new StringBuilder("x1,x2,city,price,band\n");
        for (var i = 0; i < rows; i++)
        {
            var x1 = (random.NextDouble() * 10) + 5;
            var x2 = random.NextDouble() * 4;
            var city = random.Next(cities.Length);
            var price = (3 * x1) - (2 * x2) + (city * 4) + ((random.NextDouble() - 0.5) * 0.5);
            var band = price < 20 ? "low" : price < 30 ? "mid" : "high";
            text.Append(CultureInfo.InvariantCulture, $"{x1:F3},{x2:F3},{cities[city]},{price:F3},{band}\n");
        }

        return text.ToString();
    }

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
