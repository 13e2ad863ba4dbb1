using System.Text;
using System.Text.Json;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Models;
using Dashboard.Engine.Training;
using Dashboard.Engine.Training.Optimizers;
using static TorchSharp.torch;

namespace Dashboard.Engine.Export;

/// <summary>A bundle that passed every check, with the weights in TorchSharp's format for the rebuilt model.</summary>
public sealed record ImportedBundle(ModelSpec ModelSpec, TrainingConfig Config, byte[] Weights, byte[] OptimizerState, byte[] TorchRngState);

/// <summary>Why a bundle was refused; the message says what to fix.</summary>
public sealed class BundleRejectedException(string message) : Exception(message);

/// <summary>
/// Reads a bundle made by <see cref="CheckpointExporter.ToBundle"/> — or by hand — without trusting it: only the known
/// file names at the top level (no paths, so nothing can be written outside), a cap on entries and on decompressed bytes
/// (zip bombs), SHA-256 sums when present, the model's exact parameter count capped and every tensor's name and shape in
/// the safetensors header checked against the spec, all before the model is built or any tensor data is read.
/// </summary>
/// <remarks>
/// Entries are inflated into temporary files of <paramref name="spoolFolder"/> and hashed as they stream, never into
/// memory: checking a 512 MiB bundle costs disk, not twice its size in RAM. The files delete themselves when closed.
/// </remarks>
/// <param name="maxUncompressedBytes">Cap on the bundle's decompressed size; 512 MiB unless told.</param>
/// <param name="spoolFolder">Where entries are inflated; the system's temp folder unless told.</param>
public sealed class BundleImporter(ModelRegistry models, long maxUncompressedBytes = BundleImporter.DefaultMaxUncompressedBytes, string? spoolFolder = null)
{
    public const long DefaultMaxUncompressedBytes = 512L * 1024 * 1024;
    public const int MaxEntries = 32;

    /// <summary>The JSON and text entries are read whole; none of them is near this size in a real bundle.</summary>
    public const int MaxSmallFileBytes = 1024 * 1024;

    internal const string WeightsFile = "model.safetensors";

    // 4 MiB of floats per copy into the model.
    private const int LoadSliceFloats = 1 << 20;

    internal static readonly HashSet<string> KnownFiles = [WeightsFile, "model-spec.json", "config.json", "metrics.csv", "MODEL_CARD.md", "SHA256SUMS"];

    private readonly string _spoolFolder = spoolFolder ?? Path.GetTempPath();

    public ImportedBundle Read(Stream zip)
    {
        using var files = SpooledEntries.Unpack(zip, maxUncompressedBytes, _spoolFolder);
        VerifySums(files);
        var spec = Json<ModelSpec>(files, "model-spec.json");
        if (!models.TryGet(spec.Architecture, out var architecture))
        {
            throw new BundleRejectedException($"model-spec.json names the unknown architecture '{spec.Architecture}'. Known: {string.Join(", ", models.All.Select(a => a.Name))}.");
        }

        if (ModelRegistry.Problem(spec) is { } problem)
        {
            throw new BundleRejectedException($"model-spec.json: {problem}");
        }

        var config = files.Contains("config.json") ? Json<TrainingConfig>(files, "config.json") : new TrainingConfig { Model = architecture.Name };
        if (!files.TryGet(WeightsFile, out var weights))
        {
            throw new BundleRejectedException($"The bundle has no {WeightsFile}.");
        }

        var header = Invalid(() => Safetensors.ReadHeader(weights));
        CheckShapes(ModelRegistry.ParameterShapes(spec)!, header);

        using var scope = NewDisposeScope();
        nn.Module<Tensor, Tensor> model;
        try
        {
            model = models.Build(spec);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.Runtime.InteropServices.ExternalException)
        {
            throw new BundleRejectedException($"model-spec.json does not describe a model that can be built: {e.Message}");
        }

        using (model)
        {
            Load(model, weights, header);
            using var optimizer = OptimizerFactory.Create(OptimizerNames.All.Contains(config.Optimizer) ? config.Optimizer : OptimizerNames.Adam, model.parameters(), config.LearningRate);
            // Read under the generator's lock: a run seeding at this moment must not be seen half-way.
            return new ImportedBundle(spec, config with { Model = architecture.Name }, Trainer.SerializeWeights(model), optimizer.SaveState(), GlobalGenerator.State());
        }
    }

    /// <summary>The header must name exactly the spec's parameters, each with its shape: checked before anything is built.</summary>
    private static void CheckShapes(IReadOnlyList<ParameterShape> expected, SafetensorsHeader header)
    {
        var byName = header.Tensors.ToDictionary(t => t.Name);
        var missing = expected.Select(p => p.Name).Where(n => !byName.ContainsKey(n)).ToList();
        var extra = byName.Keys.Except(expected.Select(p => p.Name)).ToList();
        if (missing.Count > 0 || extra.Count > 0)
        {
            throw new BundleRejectedException(
                $"{WeightsFile} does not fit the model spec: missing {Describe(missing)}, unexpected {Describe(extra)}.");
        }

        foreach (var parameter in expected)
        {
            var source = byName[parameter.Name];
            if (!source.Shape.SequenceEqual(parameter.Shape))
            {
                throw new BundleRejectedException($"Tensor '{parameter.Name}' is shaped [{string.Join(", ", source.Shape)}]; the model needs [{string.Join(", ", parameter.Shape)}].");
            }
        }
    }

    /// <summary>
    /// Copies each tensor from the spooled file into the model a slice at a time, so a tensor of hundreds of megabytes is
    /// never held a second time in managed memory on its way into the model.
    /// </summary>
    private static void Load(nn.Module<Tensor, Tensor> model, Stream weights, SafetensorsHeader header)
    {
        var byName = header.Tensors.ToDictionary(t => t.Name);
        var slice = new float[LoadSliceFloats];
        using (no_grad())
        {
            foreach (var (name, parameter) in model.named_parameters())
            {
                // The shapes were checked against the spec; a model that differs from its own spec is a bug here.
                var entry = byName[name];
                if (!entry.Shape.SequenceEqual(parameter.shape))
                {
                    throw new InvalidOperationException($"The built model's '{name}' is shaped [{string.Join(", ", parameter.shape)}], not as its spec says.");
                }

                using var flat = parameter.view(-1);
                var count = (entry.End - entry.Start) / sizeof(float);
                for (long done = 0; done < count; done += LoadSliceFloats)
                {
                    var length = (int)Math.Min(LoadSliceFloats, count - done);
                    Invalid(() => Safetensors.ReadFloats(weights, header.DataStart + entry.Start + (done * sizeof(float)), slice.AsSpan(0, length)));
                    // One buffer for every full slice; only a tensor's last, shorter slice takes an array of its own.
                    using var values = tensor(length == slice.Length ? slice : slice[..length], [length]);
                    using var target = flat.narrow(0, done, length);
                    target.copy_(values);
                }
            }
        }
    }

    private static void Invalid(Action read) => Invalid(() =>
    {
        read();
        return 0;
    });

    private static T Invalid<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is InvalidDataException or OverflowException or FormatException or InvalidOperationException or EndOfStreamException)
        {
            throw new BundleRejectedException($"{WeightsFile} is not valid: {e.Message}");
        }
    }

    private static string Describe(List<string> names) => names.Count == 0 ? "none" : string.Join(", ", names);

    private static void VerifySums(SpooledEntries files)
    {
        if (!files.TryGet("SHA256SUMS", out var sums))
        {
            return;
        }

        foreach (var line in Encoding.UTF8.GetString(SpooledEntries.ReadSmall(sums)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split("  ", 2);
            if (parts.Length != 2 || !files.Contains(parts[1]))
            {
                throw new BundleRejectedException($"SHA256SUMS lists '{line}', which names no file of the bundle.");
            }

            if (!string.Equals(files.Hash(parts[1]), parts[0], StringComparison.OrdinalIgnoreCase))
            {
                throw new BundleRejectedException($"{parts[1]} does not match its SHA-256 in SHA256SUMS.");
            }
        }
    }

    private static T Json<T>(SpooledEntries files, string name)
    {
        if (!files.TryGet(name, out var file))
        {
            throw new BundleRejectedException($"The bundle has no {name}.");
        }

        try
        {
            return JsonSerializer.Deserialize<T>(SpooledEntries.ReadSmall(file), CheckpointStore.JsonOptions) ?? throw new BundleRejectedException($"{name} is empty.");
        }
        catch (JsonException e)
        {
            throw new BundleRejectedException($"{name} is not valid: {e.Message}");
        }
    }
}
