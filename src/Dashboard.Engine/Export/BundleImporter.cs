using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Models;
using Dashboard.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Dashboard.Engine.Export;

/// <summary>A bundle that passed every check, with the weights in TorchSharp's format for the rebuilt model.</summary>
public sealed record ImportedBundle(ModelSpec ModelSpec, TrainingConfig Config, byte[] Weights, byte[] OptimizerState, byte[] TorchRngState);

/// <summary>Why a bundle was refused; the message says what to fix.</summary>
public sealed class BundleRejectedException(string message) : Exception(message);

/// <summary>
/// Reads a bundle made by <see cref="CheckpointExporter.ToBundle"/> — or by hand — without trusting it: only the known
/// file names at the top level (no paths, so nothing can be written outside), a cap on entries and on decompressed bytes
/// (zip bombs), SHA-256 sums when present, and every tensor's name, shape and byte count checked against the model spec.
/// </summary>
/// <param name="maxUncompressedBytes">Cap on the bundle's decompressed size; 512 MiB unless told.</param>
public sealed class BundleImporter(ModelRegistry models, long maxUncompressedBytes = BundleImporter.DefaultMaxUncompressedBytes)
{
    public const long DefaultMaxUncompressedBytes = 512L * 1024 * 1024;
    public const int MaxEntries = 32;

    private static readonly HashSet<string> KnownFiles = ["model.safetensors", "model-spec.json", "config.json", "metrics.csv", "MODEL_CARD.md", "SHA256SUMS"];

    public ImportedBundle Read(Stream zip)
    {
        var files = Unpack(zip, maxUncompressedBytes);
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

        var config = files.ContainsKey("config.json") ? Json<TrainingConfig>(files, "config.json") : new TrainingConfig { Model = architecture.Name };
        if (!files.TryGetValue("model.safetensors", out var weights))
        {
            throw new BundleRejectedException("The bundle has no model.safetensors.");
        }

        IReadOnlyList<NamedTensor> tensors;
        try
        {
            tensors = Safetensors.Read(weights).Tensors;
        }
        catch (Exception e) when (e is InvalidDataException or OverflowException or FormatException or InvalidOperationException)
        {
            throw new BundleRejectedException($"model.safetensors is not valid: {e.Message}");
        }

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
            Load(model, tensors);
            using var optimizer = OptimizerFactory.Create(OptimizerNames.All.Contains(config.Optimizer) ? config.Optimizer : OptimizerNames.Adam, model.parameters(), config.LearningRate);
            using var rng = random.get_rng_state();
            return new ImportedBundle(spec, config with { Model = architecture.Name }, Trainer.SerializeWeights(model), optimizer.SaveState(), rng.data<byte>().ToArray());
        }
    }

    private static void Load(nn.Module<Tensor, Tensor> model, IReadOnlyList<NamedTensor> tensors)
    {
        var byName = tensors.ToDictionary(t => t.Name);
        var expected = model.named_parameters().ToList();
        var missing = expected.Select(p => p.name).Where(n => !byName.ContainsKey(n)).ToList();
        var extra = byName.Keys.Except(expected.Select(p => p.name)).ToList();
        if (missing.Count > 0 || extra.Count > 0)
        {
            throw new BundleRejectedException(
                $"model.safetensors does not fit the model spec: missing {Describe(missing)}, unexpected {Describe(extra)}.");
        }

        using (no_grad())
        {
            foreach (var (name, parameter) in expected)
            {
                var source = byName[name];
                if (!source.Shape.SequenceEqual(parameter.shape))
                {
                    throw new BundleRejectedException($"Tensor '{name}' is shaped [{string.Join(", ", source.Shape)}]; the model needs [{string.Join(", ", parameter.shape)}].");
                }

                using var values = tensor(source.Data, [.. source.Shape]);
                parameter.copy_(values);
            }
        }
    }

    private static string Describe(List<string> names) => names.Count == 0 ? "none" : string.Join(", ", names);

    private static Dictionary<string, byte[]> Unpack(Stream zip, long maxUncompressedBytes)
    {
        ZipArchive archive;
        try
        {
            archive = new ZipArchive(zip, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new BundleRejectedException($"The upload is not a zip file: {e.Message}");
        }

        using (archive)
        {
            if (archive.Entries.Count > MaxEntries)
            {
                throw new BundleRejectedException($"The bundle has {archive.Entries.Count} entries; at most {MaxEntries} are read.");
            }

            var files = new Dictionary<string, byte[]>();
            long total = 0;
            foreach (var entry in archive.Entries)
            {
                // Exact names only: "../x", "/etc/x" or "a/b" can never match, so nothing is ever written or read by path.
                if (!KnownFiles.Contains(entry.FullName))
                {
                    throw new BundleRejectedException($"Unexpected entry '{entry.FullName}'. A bundle holds only: {string.Join(", ", KnownFiles)}.");
                }

                // The declared size is checked before inflating anything: an honest zip bomb is refused at once. Reading
                // stops at the declared size, so one that understates it is cut short (and then fails its checks).
                if (entry.Length > maxUncompressedBytes - total)
                {
                    throw new BundleRejectedException($"The bundle decompresses to more than {maxUncompressedBytes:N0} bytes ('{entry.FullName}' alone declares {entry.Length:N0}).");
                }

                using var stream = entry.Open();
                using var buffer = new MemoryStream();
                var chunk = new byte[81920];
                int read;
                try
                {
                    while ((read = stream.Read(chunk)) > 0)
                    {
                        total += read;
                        if (total > maxUncompressedBytes)
                        {
                            throw new BundleRejectedException($"The bundle decompresses to more than {maxUncompressedBytes:N0} bytes.");
                        }

                        buffer.Write(chunk, 0, read);
                    }
                }
                catch (InvalidDataException e)
                {
                    throw new BundleRejectedException($"Entry '{entry.FullName}' is damaged or truncated: {e.Message}");
                }

                files[entry.FullName] = buffer.ToArray();
            }

            return files;
        }
    }

    private static void VerifySums(Dictionary<string, byte[]> files)
    {
        if (!files.TryGetValue("SHA256SUMS", out var sums))
        {
            return;
        }

        foreach (var line in Encoding.UTF8.GetString(sums).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split("  ", 2);
            if (parts.Length != 2 || !files.TryGetValue(parts[1], out var bytes))
            {
                throw new BundleRejectedException($"SHA256SUMS lists '{line}', which names no file of the bundle.");
            }

            if (!string.Equals(Convert.ToHexStringLower(SHA256.HashData(bytes)), parts[0], StringComparison.OrdinalIgnoreCase))
            {
                throw new BundleRejectedException($"{parts[1]} does not match its SHA-256 in SHA256SUMS.");
            }
        }
    }

    private static T Json<T>(Dictionary<string, byte[]> files, string name)
    {
        if (!files.TryGetValue(name, out var bytes))
        {
            throw new BundleRejectedException($"The bundle has no {name}.");
        }

        try
        {
            return JsonSerializer.Deserialize<T>(bytes, CheckpointStore.JsonOptions) ?? throw new BundleRejectedException($"{name} is empty.");
        }
        catch (JsonException e)
        {
            throw new BundleRejectedException($"{name} is not valid: {e.Message}");
        }
    }
}
