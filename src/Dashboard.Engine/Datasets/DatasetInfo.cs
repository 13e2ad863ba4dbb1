namespace Dashboard.Engine.Datasets;

/// <summary>What a model needs to know about a dataset before seeing it.</summary>
/// <param name="Name">Registry key, lower case.</param>
/// <param name="SampleShape">Shape of one sample, e.g. [1, 28, 28] for a grey image or [2] for a point.</param>
public sealed record DatasetInfo(
    string Name,
    string DisplayName,
    string Description,
    IReadOnlyList<int> SampleShape,
    int ClassCount,
    int SampleCount)
{
    public bool IsImage => SampleShape.Count == 3;
}

/// <summary>Samples of a dataset in host memory, in the source's own order.</summary>
/// <param name="Features">Sample after sample, row-major, already scaled to the model's input range.</param>
public sealed record RawDataset(float[] Features, long[] Labels, IReadOnlyList<int> SampleShape, int ClassCount)
{
    public int Count => Labels.Length;

    public int SampleSize => Features.Length / Math.Max(1, Labels.Length);
}

/// <summary>A dataset the engine can train on; sources are registered by name in <see cref="DatasetRegistry"/>.</summary>
public interface IDatasetSource
{
    DatasetInfo Info { get; }

    /// <summary>Loads every sample. Implementations cache, so repeated calls are cheap.</summary>
    RawDataset Load();
}
