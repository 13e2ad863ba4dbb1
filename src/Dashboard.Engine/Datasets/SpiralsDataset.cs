using Dashboard.Plugins;

namespace Dashboard.Engine.Datasets;

/// <summary>
/// Two interleaved spirals in the plane: a classic, non-linearly separable toy problem that trains in well under a second,
/// used by fast tests and demos. Generated from a fixed seed, so it is the same everywhere.
/// </summary>
public sealed class SpiralsDataset : IDatasetSource
{
    public const string DatasetName = "spirals";
    private const int PointsPerClass = 1000;
    private const int GeneratorSeed = 7;
    private const double Noise = 0.08;

    private readonly Lazy<RawDataset> _data = new(Generate);

    public DatasetInfo Info { get; } = new(
        DatasetName,
        "Two spirals",
        "2,000 points on two interleaved spirals with Gaussian noise, 2 classes (synthetic).",
        [2],
        2,
        2 * PointsPerClass);

    public RawDataset Load() => _data.Value;

    private static RawDataset Generate()
    {
        var random = new Random(GeneratorSeed);
        var features = new float[2 * PointsPerClass * 2];
        var labels = new long[2 * PointsPerClass];
        for (var i = 0; i < PointsPerClass; i++)
        {
            var t = 0.25 + (3.5 * Math.PI * i / PointsPerClass);
            var radius = t / (3.5 * Math.PI);
            for (var c = 0; c < 2; c++)
            {
                var angle = t + (c * Math.PI);
                var index = (2 * i) + c;
                features[2 * index] = (float)((radius * Math.Cos(angle)) + (Noise * Gaussian(random)));
                features[(2 * index) + 1] = (float)((radius * Math.Sin(angle)) + (Noise * Gaussian(random)));
                labels[index] = c;
            }
        }

        return new RawDataset(features, labels, [2], 2);
    }

    private static double Gaussian(Random random)
    {
        // Box-Muller: System.Random has no normal sampler.
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
