using Dashboard.Engine.Export;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Management;
using Dashboard.Runs.Checkpoints;

namespace Dashboard.Runs.Evaluation;

/// <summary>A durable checkpoint as a file to download: safetensors, TorchSharp's own bytes, or a bundle with its history.</summary>
public sealed class CheckpointExports(CheckpointLoader loader, CheckpointQueries queries, RunService runs, CheckpointExporter exporter)
{
    /// <summary>
    /// The file for <paramref name="format"/> (safetensors when null): Invalid (field <c>format</c>) for an unknown format,
    /// checked before anything is read; NotFound or Conflict as <see cref="CheckpointLoader.LoadDurableAsync"/> refuses.
    /// </summary>
    public async Task<ServiceResult<ExportFileDto>> ExportAsync(int checkpointId, string? format, CancellationToken cancellationToken = default)
    {
        format ??= CheckpointExporter.SafetensorsFormat;
        if (!CheckpointExporter.Formats.Contains(format))
        {
            return ServiceResult<ExportFileDto>.Invalid(new Dictionary<string, string[]>
            {
                ["format"] = [$"Unknown format '{format}'. Use one of: {string.Join(", ", CheckpointExporter.Formats)}."],
            });
        }

        var loaded = await loader.LoadDurableAsync(checkpointId, cancellationToken);
        if (!loaded.Succeeded)
        {
            return new(null, loaded.Errors, loaded.Status, loaded.Problem);
        }

        var checkpoint = (await queries.GetAsync(checkpointId, cancellationToken))!;
        var stem = $"run{checkpoint.RunId}-epoch{checkpoint.Epoch:D3}-checkpoint{checkpoint.Id}";
        return new(format switch
        {
            CheckpointExporter.TorchSharpFormat => new ExportFileDto(CheckpointExporter.ToTorchSharp(loaded.Value!), "application/octet-stream", $"{stem}.bin"),
            CheckpointExporter.BundleFormat => new ExportFileDto(exporter.ToBundle(loaded.Value!, await ContextAsync(checkpoint, cancellationToken)), "application/zip", $"{stem}.zip"),
            _ => new ExportFileDto(exporter.ToSafetensors(loaded.Value!), "application/octet-stream", $"{stem}.safetensors"),
        });
    }

    /// <summary>What a bundle carries beside the weights: the run's name and its metrics up to the checkpoint's epoch.</summary>
    private async Task<ExportContext> ContextAsync(CheckpointDto checkpoint, CancellationToken cancellationToken)
    {
        var run = await runs.GetAsync(checkpoint.RunId, cancellationToken);
        var history = (await runs.MetricsAsync(checkpoint.RunId, cancellationToken) ?? [])
            .Where(m => m.Epoch <= checkpoint.Epoch)
            .Select(m => (m.Epoch, (IReadOnlyDictionary<string, double>)new Dictionary<string, double>
            {
                ["loss"] = m.Loss,
                ["valLoss"] = m.ValLoss,
                ["accuracy"] = m.Accuracy ?? double.NaN,
                ["valAccuracy"] = m.ValAccuracy ?? double.NaN,
                ["learningRate"] = m.LearningRate,
            }))
            .ToList();
        return new ExportContext(checkpoint.RunId, run?.Name ?? $"run {checkpoint.RunId}", checkpoint.Id, history);
    }
}
