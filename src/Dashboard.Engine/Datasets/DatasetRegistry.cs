using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Dashboard.Plugins;

namespace Dashboard.Engine.Datasets;

/// <summary>
/// The datasets runs can name, keyed case-insensitively by <see cref="DatasetInfo.Name"/>. The built-in ones are fixed;
/// uploaded ones are added and removed while the server runs, so lookups are thread-safe.
/// </summary>
public sealed class DatasetRegistry
{
    private readonly ConcurrentDictionary<string, IDatasetSource> _sources = new(StringComparer.OrdinalIgnoreCase);

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

    /// <summary>Adds an uploaded dataset; false when the name is taken.</summary>
    public bool TryAdd(IDatasetSource source) => _sources.TryAdd(source.Info.Name, source);

    /// <summary>Removes an uploaded dataset; built-in ones stay.</summary>
    public bool TryRemove(string name) =>
        _sources.TryGetValue(name, out var source) && source.Info.Kind != DatasetKinds.Builtin && _sources.TryRemove(name, out _);

    public IEnumerable<DatasetInfo> All => _sources.Values.Select(s => s.Info).OrderBy(i => i.Name, StringComparer.Ordinal);

    public bool TryGet(string? name, [NotNullWhen(true)] out IDatasetSource? source)
    {
        source = null;
        return name is not null && _sources.TryGetValue(name, out source);
    }

    public IDatasetSource Get(string name) =>
        TryGet(name, out var source) ? source : throw new KeyNotFoundException($"Unknown dataset '{name}'. Known: {string.Join(", ", _sources.Keys)}.");
}
