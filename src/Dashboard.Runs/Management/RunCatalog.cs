using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using Dashboard.Plugins;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Plugins;

namespace Dashboard.Runs.Management;

/// <summary>What a run may name: the registered datasets and model architectures, as the forms list them.</summary>
public sealed class RunCatalog(DatasetRegistry datasets, ModelRegistry models, PluginCatalog plugins)
{
    public IReadOnlyList<DatasetDto> Datasets() => [.. datasets.All.Select(DatasetDto.From)];

    public IReadOnlyList<ModelDto> Models() => [.. models.All.Select(m => new ModelDto(
        m.Name,
        m.DisplayName,
        m.Description,
        [.. m.Schema.Select(HyperparameterDto.From)],
        m.Plugin,
        [.. datasets.All.Where(d => Fits(m, d)).Select(d => d.Name)]))];

    public PluginsDto Plugins() => new(plugins.Loaded, plugins.Problems);

    /// <summary>A plugin's compatibility rule is its code: one that throws means "does not fit", not a failed page.</summary>
    private static bool Fits(ModelArchitecture model, DatasetInfo dataset)
    {
        try
        {
            return model.Incompatibility(dataset) is null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
    }
}
