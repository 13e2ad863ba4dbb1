namespace Dashboard.Plugins;

/// <summary>What a model needs to know about a dataset before seeing it.</summary>
/// <param name="Name">Registry key, lower case.</param>
/// <param name="SampleShape">Shape of one sample, e.g. [1, 28, 28] for a grey image or [2] for a point.</param>
/// <param name="ClassCount">Classes, or 1 for regression (the model's one output).</param>
/// <param name="Task">"classification" or "regression" (<see cref="TaskKinds"/>).</param>
/// <param name="Kind">Where the data comes from: "builtin", "csv" or "images" (<see cref="DatasetKinds"/>).</param>
public sealed record DatasetInfo(
    string Name,
    string DisplayName,
    string Description,
    IReadOnlyList<int> SampleShape,
    int ClassCount,
    int SampleCount,
    string Task = TaskKinds.Classification,
    string Kind = DatasetKinds.Builtin)
{
    public bool IsImage => SampleShape.Count == 3;

    public bool IsRegression => Task == TaskKinds.Regression;
}

/// <summary>Where a dataset comes from.</summary>
public static class DatasetKinds
{
    public const string Builtin = "builtin";
    public const string Csv = "csv";
    public const string Images = "images";
}

/// <summary>Samples of a dataset in host memory, in the source's own order.</summary>
/// <param name="Features">Sample after sample, row-major, already scaled to the model's input range (but see <paramref name="StandardizedSlots"/>).</param>
/// <param name="Targets">Regression: the value to predict per sample (the labels are then unused zeros).</param>
/// <param name="StandardizedSlots">
/// Positions within a sample that the splitter standardises with the training split's mean and standard deviation (a NaN
/// there, a missing value, becomes that mean), so that no statistic sees validation or test samples.
/// </param>
public sealed record RawDataset(
    float[] Features,
    long[] Labels,
    IReadOnlyList<int> SampleShape,
    int ClassCount,
    float[]? Targets = null,
    IReadOnlyList<int>? StandardizedSlots = null)
{
    public int Count => Labels.Length;

    public int SampleSize => Features.Length / Math.Max(1, Labels.Length);
}

/// <summary>A dataset the engine can train on; sources are registered by name by the engine's dataset registry.</summary>
public interface IDatasetSource
{
    DatasetInfo Info { get; }

    /// <summary>Loads every sample. Implementations cache, so repeated calls are cheap.</summary>
    RawDataset Load();

    /// <summary>
    /// Lower-case hex SHA-256 of the file the samples are read from, as it is now; null for generated data or a missing
    /// file. A checkpoint records it, so training on changed data later can be told apart from training on the same.
    /// </summary>
    string? DataSha256() => null;
}

/// <summary>What a run learns from a dataset: a class per row, or a number per row.</summary>
public static class TaskKinds
{
    public const string Classification = "classification";
    public const string Regression = "regression";

    public static IReadOnlyList<string> All { get; } = [Classification, Regression];
}
