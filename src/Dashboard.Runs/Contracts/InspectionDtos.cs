using Dashboard.Engine.Evaluation;
using Dashboard.Engine.Models;
using Dashboard.Engine.Training.Optimizers;
using Dashboard.Plugins;

namespace Dashboard.Runs.Contracts;

/// <summary>
/// Answer of <c>POST /api/checkpoints/{id}/evaluate</c>: the checkpoint on its dataset's held-out test split. The same
/// fields as the engine's result, so the JSON is unchanged; pages get it without reaching into the engine.
/// </summary>
/// <param name="Accuracy">Classification: share correct. Regression: the mean absolute error (see <paramref name="Regression"/>).</param>
/// <param name="Confusion">Rows are true classes, columns predicted ones; empty for regression.</param>
/// <param name="Regression">Regression only: MAE, RMSE, R² and a residual summary (absent for classification).</param>
public sealed record EvaluationDto(
    string Dataset,
    int Samples,
    double Loss,
    double Accuracy,
    int[][] Confusion,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] RegressionFigures? Regression = null)
{
    public static EvaluationDto From(EvaluationResult r) => new(r.Dataset, r.Samples, r.Loss, r.Accuracy, r.Confusion, r.Regression);
}

/// <summary>A dataset a run or fine-tune may name, as the forms list it.</summary>
public sealed record DatasetDto(string Name, string DisplayName, string Description, IReadOnlyList<int> SampleShape, int ClassCount, int SampleCount)
{
    public static DatasetDto From(DatasetInfo info) =>
        new(info.Name, info.DisplayName, info.Description, info.SampleShape, info.ClassCount, info.SampleCount);
}

/// <summary>
/// A model architecture a run may name (<c>GET /api/models</c>): its hyperparameter schema (empty for built-ins), the
/// plugin build it comes from (null for built-ins) and the datasets it fits.
/// </summary>
public sealed record ModelDto(
    string Name,
    string DisplayName,
    string Description = "",
    IReadOnlyList<HyperparameterDto>? Hyperparameters = null,
    PluginIdentity? Plugin = null,
    IReadOnlyList<string>? Datasets = null);

/// <summary>
/// What the fine-tune form offers for a run's model: its parameter names (as freezing and exports name them), its class
/// count, and the datasets a fine-tune may switch to.
/// </summary>
public sealed record ModelDescriptionDto(IReadOnlyList<string> ParameterNames, int ClassCount, IReadOnlyList<DatasetDto> Datasets)
{
    /// <summary>Freezable modules: the parameter names without their .weight/.bias ending, in model order.</summary>
    public IReadOnlyList<string> Layers { get; } = [.. ParameterNames.Select(n => n.LastIndexOf('.') is > 0 and var dot ? n[..dot] : n).Distinct()];
}

/// <summary>A file an export answers with.</summary>
public sealed record ExportFileDto(byte[] Content, string ContentType, string FileName);

/// <summary>The names the contract's fields take, for pages, which see neither the engine nor the entities.</summary>
public static class Vocabulary
{
    public static IReadOnlyList<string> Optimizers => OptimizerNames.All;

    public const string DefaultOptimizer = OptimizerNames.Adam;
}
