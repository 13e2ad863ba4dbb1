using System.Diagnostics.CodeAnalysis;

namespace Dashboard.Engine.Datasets;

/// <summary>The datasets runs can name, keyed case-insensitively by <see cref="DatasetInfo.Name"/>.</summary>
public sealed class DatasetRegistry
{
    private readonly Dictionary<string, IDatasetSource> _sources = new(StringComparer.OrdinalIgnoreCase);

    public DatasetRegistry(IEnumerable<IDatasetSource> sources)
    {
        foreach (var source in sources)
        {
            if (!_sources.TryAdd(source.Info.Name, source))
            {
                throw new ArgumentException($"Two datasets are named '{source.Info.Name}'.", nameof(sources));
            }
        }
    }

    /// <summary>The built-in datasets: MNIST from <paramref name="mnistPath"/> (default: beside the engine) and the spirals.</summary>
    public static DatasetRegistry CreateDefault(string? mnistPath = null) =>
        new([new MnistDataset(mnistPath ?? MnistDataset.DefaultPath), new SpiralsDataset()]);

    public IEnumerable<DatasetInfo> All => _sources.Values.Select(s => s.Info).OrderBy(i => i.Name, StringComparer.Ordinal);

    public bool TryGet(string? name, [NotNullWhen(true)] out IDatasetSource? source)
    {
        source = null;
        return name is not null && _sources.TryGetValue(name, out source);
    }

    public IDatasetSource Get(string name) =>
        TryGet(name, out var source) ? source : throw new KeyNotFoundException($"Unknown dataset '{name}'. Known: {string.Join(", ", _sources.Keys)}.");
}
