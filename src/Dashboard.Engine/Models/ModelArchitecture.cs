using Dashboard.Plugins;
using static TorchSharp.torch;

namespace Dashboard.Engine.Models;

/// <summary>An architecture runs can name: which datasets it fits, its default spec for one, and how to build it.</summary>
public sealed record ModelArchitecture(
    string Name,
    string DisplayName,
    string Description,
    Func<DatasetInfo, string?> Incompatibility,
    Func<DatasetInfo, ModelSpec> DefaultSpec,
    Func<ModelSpec, nn.Module<Tensor, Tensor>> Build,
    IReadOnlyList<Hyperparameter>? Hyperparameters = null,
    PluginIdentity? Plugin = null)
{
    /// <summary>The hyperparameters a run may set; empty for built-in architectures, whose sizes come from the dataset.</summary>
    public IReadOnlyList<Hyperparameter> Schema => Hyperparameters ?? [];

    /// <summary>The spec a new run of this architecture on <paramref name="dataset"/> trains, with the run's hyperparameters.</summary>
    public ModelSpec SpecFor(DatasetInfo dataset, IReadOnlyDictionary<string, double>? values) =>
        Schema.Count == 0 ? DefaultSpec(dataset) : DefaultSpec(dataset) with { Hyperparameters = HyperparameterValues.Fill(Schema, values) };

    /// <summary>A plugin's model as the registry holds it: built from the spec's shapes and hyperparameters.</summary>
    public static ModelArchitecture FromPlugin(PluginModel model, PluginIdentity plugin) => new(
        model.Name,
        model.DisplayName,
        model.Description,
        model.Incompatibility ?? (_ => null),
        info => new ModelSpec
        {
            Architecture = model.Name,
            InputShape = info.SampleShape,
            ClassCount = info.ClassCount,
            Hyperparameters = HyperparameterValues.Fill(model.Hyperparameters, null),
            Plugin = plugin,
        },
        spec => model.Build(new ModelBuildContext(spec.InputShape, spec.ClassCount, HyperparameterValues.Fill(model.Hyperparameters, spec.Hyperparameters))),
        model.Hyperparameters,
        plugin);
}

