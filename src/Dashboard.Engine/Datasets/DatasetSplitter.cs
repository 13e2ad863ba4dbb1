using Dashboard.Plugins;
using static TorchSharp.torch;

namespace Dashboard.Engine.Datasets;

/// <summary>
/// Cuts a dataset into train, validation and test splits. The cut depends only on <see cref="SplitSeed"/>, never on the run's
/// seed, so every run on a dataset is validated and tested on the same samples and curves stay comparable.
/// </summary>
public static class DatasetSplitter
{
    public const int SplitSeed = 20_240_611;

    /// <summary>Share of all samples held out as the test split.</summary>
    public const double TestFraction = 0.1;

    /// <summary>Sizes of the three splits, before anything is copied.</summary>
    public static (int Train, int Validation, int Test) Sizes(int count, double validationFraction, int? sampleLimit)
    {
        var total = sampleLimit is { } limit ? Math.Min(limit, count) : count;
        var test = (int)Math.Round(total * TestFraction);
        var validation = (int)Math.Round((total - test) * validationFraction);
        return (total - test - validation, validation, test);
    }

    /// <param name="classes">Keep only samples of these labels. Applied after the cut, so a filtered run is tested on
    /// the same samples as an unfiltered one, minus the other classes.</param>
    public static DatasetSplits Split(RawDataset data, double validationFraction, int? sampleLimit, Device device, IReadOnlyCollection<int>? classes = null)
    {
        var (test, validation, train) = Indices(data, validationFraction, sampleLimit, classes);
        var standardization = Standardization.FromTraining(data, train);
        return new DatasetSplits(
            Take(data, train, device, standardization),
            Take(data, validation, device, standardization),
            Take(data, test, device, standardization));
    }

    /// <summary>The statistics a run on these settings standardises with: what a raw row for prediction must get too.</summary>
    public static Standardization StandardizationFor(RawDataset data, double validationFraction, int? sampleLimit, IReadOnlyCollection<int>? classes = null) =>
        Standardization.FromTraining(data, Indices(data, validationFraction, sampleLimit, classes).Train);

    /// <summary>The sample indices of each split, in split order.</summary>
    public static (int[] Test, int[] Validation, int[] Train) Indices(RawDataset data, double validationFraction, int? sampleLimit, IReadOnlyCollection<int>? classes = null)
    {
        var (trainCount, validationCount, testCount) = Sizes(data.Count, validationFraction, sampleLimit);
        var order = Enumerable.Range(0, data.Count).ToArray();
        new Random(SplitSeed).Shuffle(order);
        int[] Keep(int start, int count) =>
            [.. order.Skip(start).Take(count).Where(i => classes is null || classes.Contains((int)data.Labels[i]))];
        return (Keep(0, testCount), Keep(testCount, validationCount), Keep(testCount + validationCount, trainCount));
    }

    private static DatasetSplit Take(RawDataset data, ReadOnlySpan<int> indices, Device device, Standardization standardization)
    {
        var sampleSize = data.SampleSize;
        var features = new float[indices.Length * sampleSize];
        var labels = new long[indices.Length];
        for (var i = 0; i < indices.Length; i++)
        {
            Array.Copy(data.Features, indices[i] * sampleSize, features, i * sampleSize, sampleSize);
            standardization.Apply(features.AsSpan(i * sampleSize, sampleSize));
            labels[i] = data.Labels[indices[i]];
        }

        long[] shape = [indices.Length, .. data.SampleShape.Select(d => (long)d)];
        var inputs = tensor(features, shape, ScalarType.Float32, device);
        if (data.Targets is { } values)
        {
            // Regression: one float target per sample, shaped [n, 1] like the model's single output.
            var targets = new float[indices.Length];
            for (var i = 0; i < indices.Length; i++)
            {
                targets[i] = values[indices[i]];
            }

            return new DatasetSplit(inputs, tensor(targets, [indices.Length, 1], ScalarType.Float32, device));
        }

        return new DatasetSplit(inputs, tensor(labels, [indices.Length], ScalarType.Int64, device));
    }
}
