using Dashboard.Engine.Policies;

namespace Dashboard.Engine.Training;

/// <summary>
/// What a run trains and how. Serialised as the run's <c>config</c> and into every checkpoint, so a run can be resumed or
/// branched with nothing else at hand. Field names are the scripting contract's (camelCase in JSON).
/// </summary>
public sealed record TrainingConfig
{
    public string Dataset { get; init; } = "mnist";

    public string Model { get; init; } = "mlp";

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

    /// <summary>When checkpoints are written and which are kept.</summary>
    public CheckpointPolicy Checkpoint { get; init; } = new();

    /// <summary>Learning-rate schedule; constant when omitted.</summary>
    public ScheduleConfig? Schedule { get; init; }

    /// <summary>Stop early when the monitor stalls; off when omitted.</summary>
    public EarlyStoppingConfig? EarlyStopping { get; init; }
}

public static class OptimizerNames
{
    public const string Sgd = "sgd";
    public const string Adam = "adam";
    public const string AdamW = "adamw";

    public static IReadOnlyList<string> All { get; } = [Sgd, Adam, AdamW];
}
