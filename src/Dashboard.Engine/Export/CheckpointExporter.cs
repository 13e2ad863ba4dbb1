using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Models;
using static TorchSharp.torch;

namespace Dashboard.Engine.Export;

/// <summary>Facts for the model card that only the host knows.</summary>
public sealed record ExportContext(int RunId, string RunName, int CheckpointId, IReadOnlyList<(int Epoch, IReadOnlyDictionary<string, double> Metrics)> History);

/// <summary>Turns a verified checkpoint into files people take elsewhere: safetensors, TorchSharp weights, or a bundle.</summary>
public sealed class CheckpointExporter(ModelRegistry models)
{
    public const string SafetensorsFormat = "safetensors";
    public const string TorchSharpFormat = "torchsharp";
    public const string BundleFormat = "bundle";

    public static IReadOnlyList<string> Formats { get; } = [SafetensorsFormat, TorchSharpFormat, BundleFormat];

    /// <summary>The weights by PyTorch-style parameter name, rebuilt from the checkpoint's model spec.</summary>
    public IReadOnlyList<NamedTensor> Tensors(LoadedCheckpoint checkpoint)
    {
        using var scope = NewDisposeScope();
        using var model = models.Build(checkpoint.Manifest.ModelSpec);
        using (var reader = new BinaryReader(new MemoryStream(checkpoint.Weights)))
        {
            model.load(reader);
        }

        return [.. model.state_dict().Select(p =>
        {
            var values = p.Value.detach().cpu().contiguous().to_type(ScalarType.Float32);
            return new NamedTensor(p.Key, values.shape, values.data<float>().ToArray());
        })];
    }

    public byte[] ToSafetensors(LoadedCheckpoint checkpoint) => Safetensors.Write(
        Tensors(checkpoint),
        new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["model_spec"] = JsonSerializer.Serialize(checkpoint.Manifest.ModelSpec, CheckpointStore.JsonOptions),
            ["epoch"] = checkpoint.Manifest.Position.CompletedEpochs.ToString(CultureInfo.InvariantCulture),
            ["step"] = checkpoint.Manifest.Position.GlobalStep.ToString(CultureInfo.InvariantCulture),
        });

    /// <summary>The weights as <c>module.load</c> reads them: the checkpoint's own weights file.</summary>
    public static byte[] ToTorchSharp(LoadedCheckpoint checkpoint) => checkpoint.Weights;

    /// <summary>A zip with weights (safetensors), model spec and config (JSON), metrics history (CSV), model card and SHA-256 sums.</summary>
    public byte[] ToBundle(LoadedCheckpoint checkpoint, ExportContext context)
    {
        var manifest = checkpoint.Manifest;
        var files = new List<(string Name, byte[] Bytes)>
        {
            ("model.safetensors", ToSafetensors(checkpoint)),
            ("model-spec.json", JsonSerializer.SerializeToUtf8Bytes(manifest.ModelSpec, CheckpointStore.JsonOptions)),
            ("config.json", JsonSerializer.SerializeToUtf8Bytes(manifest.Config, CheckpointStore.JsonOptions)),
            ("metrics.csv", Encoding.UTF8.GetBytes(MetricsCsv(context.History))),
            ("MODEL_CARD.md", Encoding.UTF8.GetBytes(ModelCard(checkpoint, context))),
        };
        var sums = string.Concat(files.Select(f => $"{Convert.ToHexStringLower(SHA256.HashData(f.Bytes))}  {f.Name}\n"));
        files.Add(("SHA256SUMS", Encoding.UTF8.GetBytes(sums)));

        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, bytes) in files)
            {
                var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
                entry.LastWriteTime = new DateTimeOffset(manifest.CreatedAtUtc, TimeSpan.Zero);
                using var stream = entry.Open();
                stream.Write(bytes);
            }
        }

        return buffer.ToArray();
    }

    private static string MetricsCsv(IReadOnlyList<(int Epoch, IReadOnlyDictionary<string, double> Metrics)> history)
    {
        var names = history.SelectMany(h => h.Metrics.Keys).Distinct().ToList();
        var csv = new StringBuilder("epoch," + string.Join(",", names) + "\n");
        foreach (var (epoch, metrics) in history)
        {
            csv.Append(epoch.ToString(CultureInfo.InvariantCulture));
            foreach (var name in names)
            {
                csv.Append(',').Append(metrics.TryGetValue(name, out var v) ? v.ToString("R", CultureInfo.InvariantCulture) : "");
            }

            csv.Append('\n');
        }

        return csv.ToString();
    }

    private static string ModelCard(LoadedCheckpoint checkpoint, ExportContext context)
    {
        var m = checkpoint.Manifest;
        var card = new StringBuilder();
        card.Append(CultureInfo.InvariantCulture, $"# {m.ModelSpec.Architecture.ToUpperInvariant()} on {m.Config.Dataset}\n\n");
        card.Append(CultureInfo.InvariantCulture, $"Checkpoint #{context.CheckpointId} of run #{context.RunId} \"{context.RunName}\", kind `{m.Kind}`, ");
        card.Append(CultureInfo.InvariantCulture, $"after epoch {m.Position.CompletedEpochs} (step {m.Position.GlobalStep}), written {m.CreatedAtUtc:u}.\n\n");
        card.Append("## Data\n\n");
        card.Append(CultureInfo.InvariantCulture, $"Dataset `{m.Config.Dataset}`, validation split {m.Config.ValidationSplit}, seed {m.Config.Seed}");
        card.Append(m.Config.SampleLimit is { } limit ? $", first {limit} samples.\n\n" : ".\n\n");
        card.Append("## Training\n\n");
        card.Append(CultureInfo.InvariantCulture, $"{m.Config.Optimizer}, learning rate {m.Config.LearningRate}, batch size {m.Config.BatchSize}, {m.Config.Epochs} epochs planned.\n\n");
        card.Append("## Metrics at this checkpoint\n\n| metric | value |\n| --- | --- |\n");
        foreach (var (name, value) in m.Metrics)
        {
            card.Append(CultureInfo.InvariantCulture, $"| {name} | {value:G6} |\n");
        }

        card.Append("\n## Lineage\n\n");
        card.Append(m.Lineage is { ParentCheckpointId: { } parent }
            ? $"Branched from checkpoint #{parent} of run #{m.Lineage.ParentRunId}.\n"
            : "Trained from scratch.\n");
        card.Append("\n## Files\n\n`model.safetensors` (weights, PyTorch parameter names), `model-spec.json`, `config.json`, `metrics.csv`; ");
        card.Append("`SHA256SUMS` lists the hash of each.\n");
        return card.ToString();
    }
}
