using static TorchSharp.torch;

namespace Dashboard.Plugins;

/// <summary>A model architecture a plugin adds: what runs name, what the New-run form shows, and how to build it.</summary>
/// <param name="Name">The key runs use (<c>"model"</c>), lower case letters, digits and dashes.</param>
/// <param name="Hyperparameters">The values a run may set; each build receives all of them, defaults filled in.</param>
/// <param name="Build">
/// Builds a fresh model for <see cref="ModelBuildContext"/>. Create every parameter here, with torch's own initialisers:
/// the dashboard seeds torch around this call, so a run and its resume start from the same weights. The module's
/// <c>forward</c> takes a batch shaped [batch, ..InputShape] and returns [batch, OutputCount].
/// </param>
/// <param name="Incompatibility">Why the model cannot train on a dataset, or null when it can; null accepts every dataset.</param>
public sealed record PluginModel(
    string Name,
    string DisplayName,
    string Description,
    IReadOnlyList<Hyperparameter> Hyperparameters,
    Func<ModelBuildContext, nn.Module<Tensor, Tensor>> Build,
    Func<DatasetInfo, string?>? Incompatibility = null);

/// <summary>The kinds of value a hyperparameter takes; all are carried as numbers (a bool is 0 or 1).</summary>
public enum HyperparameterKind
{
    Int,
    Float,
    Bool,

    /// <summary>One of <see cref="Hyperparameter.Choices"/>, e.g. a kernel size of 3, 5 or 7.</summary>
    Choice,
}

/// <summary>One typed hyperparameter of a plugin model, with its default and bounds.</summary>
/// <param name="Min">Smallest allowed value (int and float), inclusive.</param>
/// <param name="Max">Largest allowed value (int and float), inclusive.</param>
/// <param name="Choices">The allowed values of a <see cref="HyperparameterKind.Choice"/>.</param>
public sealed record Hyperparameter(
    string Name,
    HyperparameterKind Kind,
    double Default,
    string Description = "",
    double? Min = null,
    double? Max = null,
    IReadOnlyList<double>? Choices = null)
{
    public static Hyperparameter Int(string name, int defaultValue, int min, int max, string description = "") =>
        new(name, HyperparameterKind.Int, defaultValue, description, min, max);

    public static Hyperparameter Float(string name, double defaultValue, double min, double max, string description = "") =>
        new(name, HyperparameterKind.Float, defaultValue, description, min, max);

    public static Hyperparameter Bool(string name, bool defaultValue, string description = "") =>
        new(name, HyperparameterKind.Bool, defaultValue ? 1 : 0, description);

    public static Hyperparameter Choice(string name, double defaultValue, IReadOnlyList<double> choices, string description = "") =>
        new(name, HyperparameterKind.Choice, defaultValue, description, Choices: choices);
}

/// <summary>What a plugin model is built for: the dataset's sample shape, its output count and the run's hyperparameters.</summary>
/// <param name="InputShape">One sample's shape without the batch dimension, e.g. [1, 64] for a one-channel sequence.</param>
/// <param name="OutputCount">Classes, or 1 for a regression dataset.</param>
/// <param name="Values">Every hyperparameter of the model by name, validated and with defaults filled in.</param>
public sealed record ModelBuildContext(IReadOnlyList<int> InputShape, int OutputCount, IReadOnlyDictionary<string, double> Values)
{
    public int Int(string name) => checked((int)Values[name]);

    public double Float(string name) => Values[name];

    public bool Bool(string name) => Values[name] != 0;
}
