using System.Globalization;
using System.Text;

namespace Dashboard.TestSupport;

/// <summary>
/// Small CSV tables generated in the test rather than stored: price = 3·x1 − 2·x2 + 4·(city index) + noise, and a
/// price band (low/mid/high) as a class. Also compiled into the unit tests (linked), which do not reference this project.
/// </summary>
public static class SyntheticTables
{
    public static readonly string[] Cities = ["north", "south", "east"];

    public static string HousePrices(int rows = 600, int seed = 1)
    {
        var random = new Random(seed);
        var text = new StringBuilder("x1,x2,city,price,band\n");
        for (var i = 0; i < rows; i++)
        {
            var x1 = (random.NextDouble() * 10) + 5;
            var x2 = random.NextDouble() * 4;
            var city = random.Next(Cities.Length);
            var price = HousePrice(x1, x2, city) + ((random.NextDouble() - 0.5) * 0.5);
            var band = price < 20 ? "low" : price < 30 ? "mid" : "high";
            text.Append(CultureInfo.InvariantCulture, $"{x1:F3},{x2:F3},{Cities[city]},{price:F3},{band}\n");
        }

        return text.ToString();
    }

    /// <summary>The noiseless price of a row.</summary>
    public static double HousePrice(double x1, double x2, int city) => (3 * x1) - (2 * x2) + (city * 4);
}
