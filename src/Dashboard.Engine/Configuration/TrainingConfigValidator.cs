using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using Dashboard.Engine.Policies;
using Dashboard.Engine.Training.Optimizers;
using Dashboard.Plugins;

namespace Dashboard.Engine.Configuration;

/// <summary>
/// Checks a <see cref="TrainingConfig"/> before anything is queued. Errors are keyed by the camelCase field name, as HTTP
/// problem details and the New-run form show them.
/// </summary>
public sealed class TrainingConfigValidator(DatasetRegistry datasets, ModelRegistry models)
{
    public const int MaxEpochs = 10_000;
    public const double MaxLearningRate = 10;
    public const long MaxSeed = uint.MaxValue;
    public const double MinValidationSplit = 0.01;
    public const double MaxValidationSplit = 0.5;
    public const int MinSampleLimit = 20;

    public IReadOnlyDictionary<string, string[]> Validate(TrainingConfig config)
    {
        var errors = new Dictionary<string, List<string>>();
        void Add(string field, string message)
        {
            if (!errors.TryGetValue(field, out var list))
            {
                errors[field] = list = [];
            }

            list.Add(message);
        }

        if (config.Epochs is < 1 or > MaxEpochs)
        {
            Add("epochs", $"Epochs must be between 1 and {MaxEpochs:N0}.");
        }

        if (!double.IsFinite(config.LearningRate) || config.LearningRate <= 0 || config.LearningRate > MaxLearningRate)
        {
            Add("learningRate", $"The learning rate must be a finite number above 0 and at most {MaxLearningRate}.");
        }

        if (config.Optimizer is null || !OptimizerNames.All.Contains(config.Optimizer))
        {
            Add("optimizer", $"Unknown optimizer '{config.Optimizer}'. Choose one of: {string.Join(", ", OptimizerNames.All)}.");
        }

        if (config.Seed is < 0 or > MaxSeed)
        {
            Add("seed", $"The seed must be between 0 and {MaxSeed}.");
        }

        if (!double.IsFinite(config.ValidationSplit) || config.ValidationSplit < MinValidationSplit || config.ValidationSplit > MaxValidationSplit)
        {
            Add("validationSplit", $"The validation split must be between {MinValidationSplit} and {MaxValidationSplit}.");
        }

        DatasetInfo? dataset = null;
        if (!datasets.TryGet(config.Dataset, out var source))
        {
            Add("dataset", $"Unknown dataset '{config.Dataset}'. Choose one of: {string.Join(", ", datasets.All.Select(d => d.Name))}.");
        }
        else
        {
            dataset = source.Info;
        }

        if (!models.TryGet(config.Model, out var architecture))
        {
            Add("model", $"Unknown model '{config.Model}'. Choose one of: {string.Join(", ", models.All.Select(m => m.Name))}.");
        }
        else if (dataset is not null && architecture.Incompatibility(dataset) is { } reason)
        {
            Add("model", reason);
        }

        if (architecture is not null)
        {
            ValidateHyperparameters(config, architecture, dataset, !errors.ContainsKey("model"), Add);
        }

        if (dataset is not null)
        {
            if (config.SampleLimit is { } limit && (limit < MinSampleLimit || limit > dataset.SampleCount))
            {
                Add("sampleLimit", $"The sample limit must be between {MinSampleLimit} and {dataset.SampleCount:N0} for '{dataset.Name}'.");
            }

            var (train, validation, _) = DatasetSplitter.Sizes(dataset.SampleCount, Math.Clamp(config.ValidationSplit, MinValidationSplit, MaxValidationSplit), config.SampleLimit);
            if (validation < 1 && !errors.ContainsKey("validationSplit") && !errors.ContainsKey("sampleLimit"))
            {
                Add("validationSplit", $"This split leaves no validation sample out of {config.SampleLimit ?? dataset.SampleCount:N0}; raise the split or the sample limit.");
            }

            // With a sample limit out of range the training set's size is unknown, so only the limit is reported.
            if (config.BatchSize < 1 || (config.BatchSize > train && !errors.ContainsKey("sampleLimit")))
            {
                Add("batchSize", $"The batch size must be between 1 and the {train:N0} training samples of '{dataset.Name}'.");
            }
        }
        else if (config.BatchSize < 1)
        {
            Add("batchSize", "The batch size must be at least 1.");
        }

        ValidatePolicies(config, dataset, Add);
        return errors.ToDictionary(e => e.Key, e => e.Value.ToArray());
    }

    /// <summary>The config with every hyperparameter of its model, defaults filled in: what a new run stores.</summary>
    public TrainingConfig WithDefaults(TrainingConfig config) =>
        models.TryGet(config.Model, out var architecture) && architecture.Schema.Count > 0
            ? config with { Hyperparameters = HyperparameterValues.Fill(architecture.Schema, config.Hyperparameters) }
            : config;

    private void ValidateHyperparameters(TrainingConfig config, ModelArchitecture architecture, DatasetInfo? dataset, bool buildable, Action<string, string> add)
    {
        var problems = HyperparameterValues.Problems(architecture.Schema, config.Hyperparameters).ToList();
        foreach (var (field, message) in problems)
        {
            add(field, message);
        }

        // Plugin models are built once to count their weights (and to see that they build at all) before anything queues.
        if (problems.Count == 0 && buildable && dataset is not null && architecture.Plugin is not null
            && models.BuildProblem(architecture.SpecFor(dataset, config.Hyperparameters)) is { } problem)
        {
            add("hyperparameters", problem);
        }
    }

    private static void ValidatePolicies(TrainingConfig config, DatasetInfo? dataset, Action<string, string> add)
    {
        // A run logs accuracy or MAE, never both: a monitor of the other would never see a value.
        var absent = dataset is null ? [] : dataset.IsRegression ? MonitorMode.ClassificationOnly : MonitorMode.RegressionOnly;
        var logged = MonitorMode.LoggedMetrics.Except(absent).ToArray();
        void Monitor(string field, string? monitor, string? mode)
        {
            if (monitor is null || !logged.Contains(monitor))
            {
                add(field + ".monitor", absent.Contains(monitor)
                    ? $"'{monitor}' is not logged by {(dataset!.IsRegression ? "regression" : "classification")} runs. Monitor one of: {string.Join(", ", logged)}."
                    : $"'{monitor}' is not a logged metric. Monitor one of: {string.Join(", ", logged)}.");
            }

            if (mode is null || !MonitorMode.All.Contains(mode))
            {
                add(field + ".mode", $"The mode must be one of: {string.Join(", ", MonitorMode.All)}.");
            }
        }

        void Positive(string field, double? value, bool integer = true)
        {
            if (value is { } v && (!double.IsFinite(v) || v <= 0))
            {
                add(field, integer ? "Must be a whole number above 0." : "Must be a finite number above 0.");
            }
        }

        void NonNegative(string field, double value)
        {
            if (!double.IsFinite(value) || value < 0)
            {
                add(field, "Must be a finite number of at least 0.");
            }
        }

        if (config.Checkpoint is not { } policy)
        {
            add("checkpoint", "The checkpoint policy must be an object.");
        }
        else
        {
            Monitor("checkpoint", policy.Monitor, policy.Mode);
            NonNegative("checkpoint.minDelta", policy.MinDelta);
            if (policy.EveryEpochs is < 0)
            {
                add("checkpoint.everyEpochs", "Must be 0 (off) or more.");
            }

            Positive("checkpoint.everySteps", policy.EverySteps);
            Positive("checkpoint.everyMinutes", policy.EveryMinutes, integer: false);
            Positive("checkpoint.keepTopK", policy.KeepTopK);
            Positive("checkpoint.keepLast", policy.KeepLast);
            Positive("checkpoint.keepEveryEpochs", policy.KeepEveryEpochs);
            Positive("checkpoint.maxBytes", policy.MaxBytes);
            if (FileNameTemplate.Problem(policy.FileNameTemplate) is { } problem)
            {
                add("checkpoint.fileNameTemplate", problem);
            }
        }

        if (config.Schedule is { } schedule)
        {
            if (schedule.Type is null || !ScheduleConfig.Types.Contains(schedule.Type))
            {
                add("schedule.type", $"Unknown schedule '{schedule.Type}'. Choose one of: {string.Join(", ", ScheduleConfig.Types)}.");
            }

            Positive("schedule.stepEpochs", schedule.StepEpochs);
            Positive("schedule.cosineEpochs", schedule.CosineEpochs);
            if (!double.IsFinite(schedule.Gamma) || schedule.Gamma <= 0 || schedule.Gamma > 1)
            {
                add("schedule.gamma", "The decay factor must be above 0 and at most 1.");
            }

            if (!double.IsFinite(schedule.Factor) || schedule.Factor <= 0 || schedule.Factor >= 1)
            {
                add("schedule.factor", "The plateau factor must be above 0 and below 1.");
            }

            NonNegative("schedule.minLearningRate", schedule.MinLearningRate);
            NonNegative("schedule.threshold", schedule.Threshold);
            NonNegative("schedule.patience", schedule.Patience);
            NonNegative("schedule.cooldown", schedule.Cooldown);
            if (schedule.Type == ScheduleConfig.Plateau)
            {
                Monitor("schedule", schedule.Monitor, schedule.Mode);
            }
        }

        if (config.EarlyStopping is { } stopping)
        {
            Monitor("earlyStopping", stopping.Monitor, stopping.Mode);
            Positive("earlyStopping.patience", stopping.Patience);
            NonNegative("earlyStopping.minDelta", stopping.MinDelta);
        }
    }
}
