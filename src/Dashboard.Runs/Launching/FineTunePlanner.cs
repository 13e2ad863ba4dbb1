using Dashboard.Data.Entities;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Management;

namespace Dashboard.Runs.Launching;

/// <summary>
/// Works out the child run a fine-tune request asks for, or the field errors that refuse it. It touches neither the
/// database nor the queue: <see cref="RunLauncher"/> creates and queues what this plans.
/// </summary>
public sealed class FineTunePlanner(TrainingConfigValidator validator, DatasetRegistry datasets, ModelRegistry models)
{
    /// <summary>
    /// The queued child of <paramref name="checkpoint"/> (of <paramref name="parent"/>) with the parent's config changed
    /// as <paramref name="request"/> says, or the errors of each field at fault.
    /// </summary>
    public ServiceResult<Run> Plan(Run parent, Checkpoint checkpoint, FineTuneRequest request)
    {
        var parentConfig = RunConfigCodec.ReadOrDefault(parent.ConfigJson);
        var errors = new Dictionary<string, string[]>();
        if (request.Epochs is null)
        {
            errors["epochs"] = ["Say how many epochs to fine-tune for."];
        }

        if (request.Name?.Trim() is { Length: > RunService.MaxNameLength })
        {
            errors["name"] = [$"The name may have at most {RunService.MaxNameLength} characters."];
        }

        var config = parentConfig with
        {
            Epochs = request.Epochs ?? 1,
            LearningRate = request.LearningRate ?? parentConfig.LearningRate,
            Optimizer = request.Optimizer?.Trim().ToLowerInvariant() ?? parentConfig.Optimizer,
            Dataset = request.Dataset?.Trim().ToLowerInvariant() ?? parentConfig.Dataset,

            // A sample limit was chosen for the parent's dataset; on another dataset it would be a guess.
            SampleLimit = request.Dataset is null ? parentConfig.SampleLimit : null,
            BatchSize = request.BatchSize ?? parentConfig.BatchSize,
            ClassFilter = request.DatasetFilter ?? parentConfig.ClassFilter,
            Schedule = request.Schedule ?? parentConfig.Schedule,
            EarlyStopping = request.EarlyStopping ?? parentConfig.EarlyStopping,
            FineTune = new FineTuneSettings { ResetOptimizer = request.ResetOptimizer ?? false, Freeze = request.Freeze ?? [] },
        };
        foreach (var (field, messages) in validator.Validate(config))
        {
            errors[field] = messages;
        }

        if (datasets.TryGet(parentConfig.Dataset, out var parentData) && models.TryGet(parentConfig.Model, out var architecture))
        {
            CheckAgainstModel(config, architecture.SpecFor(parentData.Info, parentConfig.Hyperparameters), errors);
        }

        if (errors.Count > 0)
        {
            return ServiceResult<Run>.Invalid(errors);
        }

        return new(new Run
        {
            Name = string.IsNullOrWhiteSpace(request.Name) ? $"{parent.Name} · fine-tune from epoch {checkpoint.Epoch}" : request.Name.Trim(),
            Status = RunStatus.Queued,
            Dataset = config.Dataset,
            Model = config.Model,
            Epochs = config.Epochs,
            ConfigJson = RunConfigCodec.Write(config),
            ParentRunId = parent.Id,
            ParentCheckpointId = checkpoint.Id,
            StartCheckpointId = checkpoint.Id,
            CreatedAt = DateTime.UtcNow,
        });
    }

    /// <summary>The parameter names of a model, as freezing and exports name them.</summary>
    public IReadOnlyList<string> ParameterNames(ModelSpec spec)
    {
        // The shape rule names every parameter as the built model does (ModelSizeTests hold them equal), without
        // allocating the weights: the run page asks on every load. Plugin models are built to read theirs.
        return [.. models.Shapes(spec).Select(p => p.Name)];
    }

    /// <summary>The new dataset, class filter and frozen layers must fit the model the parent trained.</summary>
    private void CheckAgainstModel(TrainingConfig config, ModelSpec spec, Dictionary<string, string[]> errors)
    {
        if (!errors.ContainsKey("dataset") && datasets.TryGet(config.Dataset, out var newData)
            && (!newData.Info.SampleShape.SequenceEqual(spec.InputShape) || newData.Info.ClassCount != spec.ClassCount))
        {
            errors["dataset"] = [$"'{config.Dataset}' has samples [{string.Join(", ", newData.Info.SampleShape)}] in {newData.Info.ClassCount} classes; the model takes [{string.Join(", ", spec.InputShape)}] in {spec.ClassCount}."];
        }

        if (config.ClassFilter is not null && !errors.ContainsKey("dataset") && datasets.TryGet(config.Dataset, out var target) && target.Info.IsRegression)
        {
            // A regression target is a number, not a class: a filter would compare prices with class labels.
            errors["datasetFilter"] = [$"'{config.Dataset}' is a regression dataset; it has no classes to keep."];
        }
        else if (config.ClassFilter is { } classes && (classes.Count == 0 || classes.Any(c => c < 0 || c >= spec.ClassCount) || classes.Distinct().Count() != classes.Count))
        {
            errors["datasetFilter"] = [$"List distinct class labels between 0 and {spec.ClassCount - 1}."];
        }

        if (config.FineTune!.Freeze.Count > 0 && FineTuneSettings.FreezeProblem(config.FineTune.Freeze, ParameterNames(spec)) is { } problem)
        {
            errors["freeze"] = [problem];
        }
    }
}
