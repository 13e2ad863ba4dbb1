using System.Text.Json;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Policies;

namespace Dashboard.Runs.Contracts;

/// <summary>Body of <c>POST /api/runs</c>. Omitted fields take the defaults the New-run form shows.</summary>
public sealed record CreateRunRequest
{
    public string? Name { get; init; }

    public string? Dataset { get; init; }

    public string? Model { get; init; }

    /// <summary>A plugin model's hyperparameters, e.g. <c>{ "width": 32 }</c>: numbers, or true/false for a bool.</summary>
    public IReadOnlyDictionary<string, JsonElement>? Hyperparameters { get; init; }

    public int? Epochs { get; init; }

    public int? BatchSize { get; init; }

    public double? LearningRate { get; init; }

    public string? Optimizer { get; init; }

    public long? Seed { get; init; }

    public double? ValidationSplit { get; init; }

    public int? SampleLimit { get; init; }

    public CheckpointPolicy? Checkpoint { get; init; }

    public ScheduleConfig? Schedule { get; init; }

    public EarlyStoppingConfig? EarlyStopping { get; init; }

    /// <summary>
    /// Named only so that a run's <c>config</c> from <c>GET /api/runs/{id}</c> can be posted back as it is (unknown fields
    /// are refused); it must be null, since a class filter is a fine-tune setting.
    /// </summary>
    public IReadOnlyList<int>? ClassFilter { get; init; }

    /// <summary>As <see cref="ClassFilter"/>: must be null; fine-tunes start from a checkpoint.</summary>
    public FineTuneSettings? FineTune { get; init; }

    /// <summary>Hyperparameters that are neither numbers nor booleans, keyed by field; the schema checks the rest.</summary>
    public IEnumerable<(string Field, string Message)> HyperparameterKindErrors() =>
        (Hyperparameters ?? new Dictionary<string, JsonElement>())
            .Where(h => h.Value.ValueKind is not (JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False))
            .Select(h => ($"hyperparameters.{h.Key}", $"Must be a number or true/false, not {h.Value.ValueKind.ToString().ToLowerInvariant()}."));

    /// <summary>
    /// Start from an uploaded weights file (<c>POST /api/weights</c>): its <c>id</c> and the layers to <c>freeze</c>. The
    /// match counts and hash a run's config shows here are recomputed, so that config can be posted back as it is.
    /// </summary>
    public InitialWeightsSettings? InitialWeights { get; init; }

    /// <summary>The job queue the run waits on, so only workers serving it train it; "default" when absent.</summary>
    public string? Queue { get; init; }

    public TrainingConfig ToConfig()
    {
        var defaults = new TrainingConfig();
        return new TrainingConfig
        {
            Dataset = Dataset?.Trim().ToLowerInvariant() ?? defaults.Dataset,
            Model = Model?.Trim().ToLowerInvariant() ?? defaults.Model,
            Hyperparameters = Hyperparameters?
                .Where(h => h.Value.ValueKind is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False)
                .ToDictionary(h => h.Key, h => h.Value.ValueKind switch { JsonValueKind.True => 1, JsonValueKind.False => 0, _ => h.Value.GetDouble() }),
            Epochs = Epochs ?? defaults.Epochs,
            BatchSize = BatchSize ?? defaults.BatchSize,
            LearningRate = LearningRate ?? defaults.LearningRate,
            Optimizer = Optimizer?.Trim().ToLowerInvariant() ?? defaults.Optimizer,
            Seed = Seed ?? defaults.Seed,
            ValidationSplit = ValidationSplit ?? defaults.ValidationSplit,
            SampleLimit = SampleLimit,
            Checkpoint = Checkpoint ?? defaults.Checkpoint,
            Schedule = Schedule,
            EarlyStopping = EarlyStopping,
        };
    }
}

/// <summary>Body of <c>PATCH /api/runs/{id}</c>: only the fields given change; tags, when given, replace the old ones.</summary>
public sealed record UpdateRunRequest
{
    public string? Name { get; init; }

    public IReadOnlyList<string>? Tags { get; init; }

    public string? Notes { get; init; }

    public bool? Archived { get; init; }
}

/// <summary>Body of <c>POST /api/checkpoints/{id}/resume</c>: the total epochs to reach (default: the run's own).</summary>
public sealed record ResumeRequest(int? Epochs);

/// <summary>
/// Body of <c>POST /api/checkpoints/{id}/finetune</c>: what changes against the checkpoint's run. <c>epochs</c> counts the
/// fine-tuning epochs; the child run starts at epoch 1 from the checkpoint's weights.
/// </summary>
public sealed record FineTuneRequest
{
    public string? Name { get; init; }

    public int? Epochs { get; init; }

    public double? LearningRate { get; init; }

    public string? Optimizer { get; init; }

    public bool? ResetOptimizer { get; init; }

    public IReadOnlyList<string>? Freeze { get; init; }

    public string? Dataset { get; init; }

    /// <summary>Class labels to keep, e.g. [0, 1, 2, 3, 4].</summary>
    public IReadOnlyList<int>? DatasetFilter { get; init; }

    public int? BatchSize { get; init; }

    public ScheduleConfig? Schedule { get; init; }

    public EarlyStoppingConfig? EarlyStopping { get; init; }
}
