using System.Text.Json;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Datasets.Tabular;
using Dashboard.Engine.Evaluation;
using Dashboard.Engine.Models;
using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Launching;
using Dashboard.Runs.Management;

namespace Dashboard.Runs.Evaluation;

/// <summary>
/// Looks into a checkpoint or a run's model without training: test-set evaluation, one prediction, the model's parameter
/// names. The API's routes and the run page both ask here, so they check input and answer refusals alike.
/// </summary>
public sealed class CheckpointInspector(
    CheckpointLoader loader,
    CheckpointEvaluator evaluator,
    RunService runs,
    FineTunePlanner fineTunes,
    RunCatalog catalog,
    DatasetRegistry datasets,
    ModelRegistry models)
{
    /// <summary>The checkpoint on its dataset's test split; NotFound for an unknown id, Conflict when it cannot be used.</summary>
    public async Task<ServiceResult<EvaluationDto>> EvaluateAsync(int checkpointId, CancellationToken cancellationToken = default)
    {
        var loaded = await loader.LoadDurableAsync(checkpointId, cancellationToken);
        if (!loaded.Succeeded)
        {
            return Refused<EvaluationDto, LoadedCheckpoint>(loaded);
        }

        // Seconds of torch work: off the caller's thread, which is a request's or a page's circuit.
        var result = await Task.Run(() => evaluator.EvaluateTestSplit(loaded.Value!), cancellationToken);
        return new(EvaluationDto.From(result));
    }

    /// <summary>
    /// The model's class probabilities for one sample, given as the dataset's raw values (MNIST pixels in [0, 1], which are
    /// normalised here as they were for training). Invalid (field <c>input</c>) unless it has exactly the model's input
    /// size of finite numbers; the checkpoint is checked first, since its model tells that size.
    /// </summary>
    public async Task<ServiceResult<PredictionDto>> PredictAsync(int checkpointId, float[]? input, CancellationToken cancellationToken = default) =>
        await PredictFromRequestAsync(checkpointId, new PredictRequest(input), cancellationToken);

    /// <summary>As above, or with a raw table row (<see cref="PredictRequest.Row"/>) for a checkpoint trained on a CSV table.</summary>
    public async Task<ServiceResult<PredictionDto>> PredictFromRequestAsync(int checkpointId, PredictRequest request, CancellationToken cancellationToken = default)
    {
        var loaded = await loader.LoadDurableAsync(checkpointId, cancellationToken);
        if (!loaded.Succeeded)
        {
            return Refused<PredictionDto, LoadedCheckpoint>(loaded);
        }

        var checkpoint = loaded.Value!;
        if (request.Row is { } row)
        {
            return await Task.Run(() => PredictRow(checkpoint, row), cancellationToken);
        }

        var input = request.Input;
        var shape = checkpoint.Manifest.ModelSpec.InputShape;
        var size = shape.Aggregate(1, (a, b) => a * b);
        if (input is null || input.Length != size || input.Any(v => !float.IsFinite(v)))
        {
            return ServiceResult<PredictionDto>.Invalid(new Dictionary<string, string[]>
            {
                ["input"] = [$"Send {size} finite numbers (the model's input [{string.Join(", ", shape)}])."],
            });
        }

        var prepared = checkpoint.Manifest.Config.Dataset == MnistDataset.DatasetName ? [.. input.Select(MnistDataset.Normalize)] : input;
        return new(Answer(checkpoint, prepared));
    }

    private ServiceResult<PredictionDto> PredictRow(LoadedCheckpoint checkpoint, IReadOnlyDictionary<string, JsonElement> row)
    {
        var config = checkpoint.Manifest.Config;
        if (!datasets.TryGet(config.Dataset, out var source) || source is not CsvDatasetSource table)
        {
            return RowError($"'row' is for checkpoints trained on an uploaded CSV table; '{config.Dataset}' is not one here. Send 'input'.");
        }

        var cells = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (column, value) in row)
        {
            cells[column] = value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                JsonValueKind.Null => null,
                _ => "\u0000not a cell",
            };
        }

        try
        {
            return new(Answer(checkpoint, table.EncodeRow(cells, config.ValidationSplit, config.SampleLimit)));
        }
        catch (CsvTableException e)
        {
            return RowError(e.Message);
        }
    }

    private PredictionDto Answer(LoadedCheckpoint checkpoint, float[] sample)
    {
        var outputs = evaluator.Predict(checkpoint, sample);
        return CheckpointEvaluator.IsRegression(checkpoint)
            ? new PredictionDto(null, [], outputs[0])
            : new PredictionDto(Array.IndexOf(outputs, outputs.Max()), outputs);
    }

    private static ServiceResult<PredictionDto> RowError(string message) =>
        ServiceResult<PredictionDto>.Invalid(new Dictionary<string, string[]> { ["row"] = [message] });

    /// <summary>
    /// What a fine-tune of the run may change: its model's parameter names (the names the fine-tune route's <c>freeze</c>
    /// checks against), its class count, and the datasets. No names when the run's dataset or model is not registered
    /// here any more (an import from elsewhere); NotFound for an unknown run.
    /// </summary>
    public async Task<ServiceResult<ModelDescriptionDto>> DescribeModelAsync(int runId, CancellationToken cancellationToken = default)
    {
        if (await runs.GetAsync(runId, cancellationToken) is not { } run)
        {
            return ServiceResult<ModelDescriptionDto>.NotFound($"There is no run {runId}.");
        }

        var all = catalog.Datasets();
        if (!datasets.TryGet(run.Dataset, out var source) || !models.TryGet(run.Model, out var architecture))
        {
            return new(new ModelDescriptionDto([], 0, all));
        }

        var spec = architecture.SpecFor(source.Info, run.Config.Hyperparameters);

        // Building a model allocates its tensors: a worker thread's job, not a page's render thread.
        var names = await Task.Run(() => fineTunes.ParameterNames(spec), cancellationToken);
        return new(new ModelDescriptionDto(names, spec.ClassCount, all));
    }

    private static ServiceResult<T> Refused<T, TFrom>(ServiceResult<TFrom> refusal) =>
        new(default, refusal.Errors, refusal.Status, refusal.Problem);
}
