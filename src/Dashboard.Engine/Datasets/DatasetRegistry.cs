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

    public IEnumerable<DatasetInfo> All
    {
        get
        {
            Refresh();
            return _sources.Values.Select(s => s.Info).OrderBy(i => i.Name, StringComparer.Ordinal);
        }
    }

    public bool TryGet(string? name, [NotNullWhen(true)] out IDatasetSource? source)
    {
        source = null;
        if (name is null)
        {
            return false;
        }

        if (_sources.TryGetValue(name, out source))
        {
            return true;
        }

        Refresh();
        return _sources.TryGetValue(name, out source);
    }

    /// <summary>
    /// Adds datasets stored meanwhile by another process (another web instance, when several share one data folder) when
    /// a name is missing or the list is read: <paramref name="addStored"/> adds what it finds. Called at most once a
    /// second, so a stream of unknown names costs one folder scan a second, not one per request.
    /// </summary>
    public void RefreshWith(Action addStored) => _refresh = addStored;

    private Action? _refresh;
    private long _lastRefresh = long.MinValue / 2;

    private void Refresh()
    {
        var last = Interlocked.Read(ref _lastRefresh);
        var now = Environment.TickCount64;
        if (_refresh is { } refresh && now - last >= 1000 && Interlocked.CompareExchange(ref _lastRefresh, now, last) == last)
        {
            refresh();
        }
    }

    public IDatasetSource Get(string name) =>
        TryGet(name, out var source) ? source : throw new KeyNotFoundException($"Unknown dataset '{name}'. Known: {string.Join(", ", _sources.Keys)}.");
}
