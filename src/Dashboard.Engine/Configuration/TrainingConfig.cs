using Dashboard.Engine.Policies;
using Dashboard.Engine.Training.Optimizers;

namespace Dashboard.Engine.Configuration;

/// <summary>
/// What a run trains and how. Serialised as the run's <c>config</c> and into every checkpoint, so a run can be resumed or
/// branched with nothing else at hand. Field names are the scripting contract's (camelCase in JSON).
/// </summary>
public sealed record TrainingConfig
{
    public string Dataset { get; init; } = "mnist";

    public string Model { get; init; } = "mlp";

    /// <summary>A plugin model's hyperparameters by name (all of them once the run is created); null for built-ins.</summary>
    public IReadOnlyDictionary<string, double>? Hyperparameters { get; init; }

    /// <summary>Total epochs to reach; a resumed run continues numbering up to this.</summary>
    public int Epochs { get; init; } = 10;

    public int BatchSize { get; init; } = 64;

    public double LearningRate { get; init; } = 0.001;

    public string Optimizer { get; init; } = OptimizerNames.Adam;

    public long Seed { get; init; } = 42;

    /// <summary>Share of the non-test samples held out for validation.</summary>
    public double ValidationSplit { get; init; } = 0.1;

    /// <summary>Use only this many samples of the dataset (before splitting): quick experiments and tests.</summary>
    public int? SampleLimit { get; init; }

    /// <summary>Train and evaluate only on samples of these class labels (e.g. digits 0-4).</summary>
    public IReadOnlyList<int>? ClassFilter { get; init; }

    /// <summary>Set on a fine-tuning run: how it starts from its parent checkpoint.</summary>
    public FineTuneSettings? FineTune { get; init; }

    /// <summary>Set on a run started from an uploaded weights file: which file, how it matched, what is frozen.</summary>
    public InitialWeightsSettings? InitialWeights { get; init; }

    /// <summary>When checkpoints are written and which are kept.</summary>
    public CheckpointPolicy Checkpoint { get; init; } = new();

    /// <summary>Learning-rate schedule; constant when omitted.</summary>
    public ScheduleConfig? Schedule { get; init; }

    /// <summary>Stop early when the monitor stalls; off when omitted.</summary>
    public EarlyStoppingConfig? EarlyStopping { get; init; }
}

/// <summary>
/// A fine-tuning run starts from its parent checkpoint's weights at epoch 0 with its own data, learning rate and
/// schedule. The optimizer state is carried over unless reset, the optimizer kind changes, or layers are frozen (the
/// parameter set then differs, so old moments no longer fit).
/// </summary>
public sealed record FineTuneSettings
{
    public bool ResetOptimizer { get; init; }

    /// <summary>Parameter names or module prefixes to freeze, e.g. "features" or "layers.fc1.weight".</summary>
    public IReadOnlyList<string> Freeze { get; init; } = [];

    /// <summary>
    /// Whether the freeze entry <paramref name="entry"/> covers the parameter <paramref name="parameterName"/>: it names the
    /// parameter, or a module holding it ("layers.fc1" covers "layers.fc1.weight" but not "layers.fc10.weight"). The one
    /// rule for both the trainer, which freezes, and the fine-tune check, which refuses entries that cover nothing.
    /// </summary>
    public static bool Covers(string entry, string parameterName) =>
        parameterName == entry || parameterName.StartsWith(entry + ".", StringComparison.Ordinal);

    /// <summary>
    /// Why <paramref name="freeze"/> cannot be applied to a model with <paramref name="parameterNames"/>, or null: an entry
    /// that covers no parameter is a typo, and freezing every parameter leaves nothing to train. Fine-tunes and runs from
    /// uploaded weights share it.
    /// </summary>
    public static string? FreezeProblem(IReadOnlyList<string> freeze, IReadOnlyList<string> parameterNames)
    {
        if (freeze.Count == 0)
        {
            return null;
        }

        var unknown = freeze.Where(f => !parameterNames.Any(n => Covers(f, n))).ToList();
        if (unknown.Count > 0)
        {
            return $"No parameter is called {string.Join(", ", unknown.Select(u => $"'{u}'"))}. The model has: {string.Join(", ", parameterNames)}.";
        }

        return parameterNames.All(n => freeze.Any(f => Covers(f, n))) ? "Freezing every parameter leaves nothing to train." : null;
    }
}

/// <summary>
/// A run that starts from an uploaded weights file: the file (by content hash, so the run's lineage names exactly the
/// bytes it started from), the match counts it started with, and the layers it keeps frozen.
/// </summary>
public sealed record InitialWeightsSettings
{
    /// <summary>The weights file's id, which is its SHA-256.</summary>
    public string Id { get; init; } = "";

    public string Sha256 { get; init; } = "";

    public string Format { get; init; } = "";

    /// <summary>Parameter names or module prefixes kept frozen (the rule of <see cref="FineTuneSettings.Covers"/>).</summary>
    public IReadOnlyList<string> Freeze { get; init; } = [];

    public int Matched { get; init; }

    public int Missing { get; init; }

    public int Unexpected { get; init; }

    public int ShapeMismatches { get; init; }
}
