namespace Dashboard.Engine.Training;

/// <summary>What one finished epoch measured; one row of <c>GET /api/runs/{id}/metrics</c>.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Step">Optimizer steps taken since the run began, after this epoch.</param>
public sealed record EpochMetrics(
    int Epoch,
    long Step,
    double Loss,
    double ValLoss,
    double? Accuracy,
    double? ValAccuracy,
    double LearningRate,
    double DurationMs,
    double SamplesPerSecond,
    double? Mae = null,
    double? ValMae = null)
{
    /// <summary>The metrics by their logged names, as checkpoint policies and the UI look them up; only those the run has.</summary>
    public IReadOnlyDictionary<string, double> ToDictionary()
    {
        var metrics = new Dictionary<string, double> { ["loss"] = Loss, ["valLoss"] = ValLoss, ["learningRate"] = LearningRate };
        void Add(string name, double? value)
        {
            if (value is { } v)
            {
                metrics[name] = v;
            }
        }

        Add("accuracy", Accuracy);
        Add("valAccuracy", ValAccuracy);
        Add("mae", Mae);
        Add("valMae", ValMae);
        return metrics;
    }
}

/// <summary>One optimizer step: the loss of its batch. A struct, since one is reported for every batch.</summary>
/// <param name="Step">Optimizer steps taken since the run began, including this one (the first is 1).</param>
/// <param name="Epoch">1-based epoch the step belongs to.</param>
/// <param name="Loss">The batch's mean training loss, before the step was applied.</param>
public readonly record struct StepMetrics(long Step, int Epoch, double Loss, double LearningRate);

/// <summary>Where the current epoch stands; sent a few times a second while training.</summary>
public sealed record BatchProgress(int Epoch, int Batch, int BatchCount, double SamplesPerSecond, double EpochElapsedMs);

/// <summary>Facts known once a run has its data and model, before the first batch.</summary>
/// <param name="StartStep">Optimizer steps already taken (a resumed checkpoint's step); the first step reported is one more.</param>
public sealed record RunStartInfo(string Device, int TrainSamples, int ValidationSamples, int BatchesPerEpoch, int StartEpoch, long ParameterCount, long StartStep = 0);

public enum TrainingOutcome
{
    Completed,

    /// <summary>Cancelled between batches; an interrupt checkpoint was offered to the observer.</summary>
    Cancelled,

    /// <summary>Early stopping ended the run before its last epoch; the final checkpoint is of kind "last".</summary>
    EarlyStopped,
}
