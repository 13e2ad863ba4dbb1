using System.Text.RegularExpressions;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using Dashboard.Plugins;

namespace Dashboard.Runs.Plugins;

/// <summary>Handing the plugins' models and datasets to the registries, each checked first and left out when at fault.</summary>
public sealed partial class PluginCatalog
{
    /// <summary>Adds the plugins' datasets; a bad name or one already taken is a problem, and that dataset is left out.</summary>
    public void AddDatasetsTo(DatasetRegistry registry)
    {
        foreach (var (plugin, folder, dataset) in _datasets)
        {
            string name = "?";
            try
            {
                name = dataset.Info.Name;
                if (!NamePattern().IsMatch(name))
                {
                    Reject(plugin, folder, $"Dataset '{name}': names are 1 to 64 lower-case letters, digits, '-', '_' or '.'.", dataset: name);
                }
                else if (!registry.TryAdd(dataset))
                {
                    Reject(plugin, folder, $"Dataset '{name}' has the name of another dataset; it is left out.", dataset: name);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Reject(plugin, folder, $"Dataset '{name}' failed: {e.GetType().Name}: {e.Message}", dataset: name);
            }
        }
    }

    /// <summary>
    /// Adds the plugins' models. Each is built once first, with its defaults for the first dataset it fits (the plugin's
    /// own first), so a model whose build throws or is too large is reported at start-up rather than by a failed run.
    /// </summary>
    public void AddModelsTo(ModelRegistry models, DatasetRegistry datasets)
    {
        foreach (var (plugin, folder, model) in _models)
        {
            string? problem;
            try
            {
                problem = ModelProblem(plugin, model, models, datasets);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                problem = $"{e.GetType().Name}: {e.Message}";
            }

            if (problem is not null)
            {
                Reject(plugin, folder, $"Model '{model.Name}': {problem}", model: model.Name);
            }
        }
    }

    private string? ModelProblem(PluginIdentity plugin, PluginModel model, ModelRegistry models, DatasetRegistry datasets)
    {
        if (model.Name is null || !NamePattern().IsMatch(model.Name))
        {
            return "names are 1 to 64 lower-case letters, digits, '-', '_' or '.'.";
        }

        if (model.Build is null || model.Hyperparameters is null)
        {
            return "a model needs a build function and a list of hyperparameters (empty when it has none).";
        }

        if (HyperparameterValues.SchemaProblem(model.Hyperparameters) is { } schema)
        {
            return schema;
        }

        var architecture = ModelArchitecture.FromPlugin(model, plugin);
        var own = _datasets.Where(d => d.Plugin == plugin).Select(d => d.Dataset.Info.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var probe = datasets.All.OrderBy(d => own.Contains(d.Name) ? 0 : 1).FirstOrDefault(d => architecture.Incompatibility(d) is null);
        if (probe is not null && ModelRegistry.BuildProblem(architecture, architecture.SpecFor(probe, null)) is { } build)
        {
            return $"{build} (built with its defaults for '{probe.Name}')";
        }

        return models.TryAdd(architecture) ? null : "another model has this name; it is left out.";
    }

    /// <summary>Records the problem and takes the model or dataset out of its plugin's list.</summary>
    private void Reject(PluginIdentity plugin, string folder, string message, string? model = null, string? dataset = null)
    {
        AddProblem(plugin.Name, folder, message);
        lock (_lock)
        {
            var index = _loaded.FindIndex(p => p.Identity == plugin);
            if (index >= 0)
            {
                var loaded = _loaded[index];
                _loaded[index] = loaded with
                {
                    Models = [.. loaded.Models.Where(m => m != model)],
                    Datasets = [.. loaded.Datasets.Where(d => d != dataset)],
                };
            }
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex NamePattern();
}
