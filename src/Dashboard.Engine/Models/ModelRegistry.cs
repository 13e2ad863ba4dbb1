using System.Diagnostics.CodeAnalysis;
using static TorchSharp.torch;

namespace Dashboard.Engine.Models;

/// <summary>The model architectures, keyed case-insensitively by name.</summary>
public sealed class ModelRegistry
{
    private readonly Dictionary<string, ModelArchitecture> _architectures = new(StringComparer.OrdinalIgnoreCase);

    public ModelRegistry(IEnumerable<ModelArchitecture> architectures)
    {
        foreach (var architecture in architectures)
        {
            if (!_architectures.TryAdd(architecture.Name, architecture))
            {
                throw new ArgumentException($"Two models are named '{architecture.Name}'.", nameof(architectures));
            }
        }
    }

    public static ModelRegistry CreateDefault() => new(
    [
        new ModelArchitecture(
            "mlp",
            "MLP",
            "Fully connected layers with ReLU; fits any dataset.",
            _ => null,
            info => new ModelSpec
            {
                Architecture = "mlp",
                InputShape = info.SampleShape,
                ClassCount = info.ClassCount,
                HiddenSizes = info.IsImage ? [128, 64] : [64, 64],
            },
            spec => new Mlp(spec)),
        new ModelArchitecture(
            "cnn",
            "CNN",
            "Two 3×3 convolution blocks with max-pooling and a dense head; for images.",
            info => info.IsImage && info.SampleShape[1] % 4 == 0 && info.SampleShape[2] % 4 == 0
                ? null
                : $"The CNN needs images whose sides divide by 4; '{info.Name}' has samples shaped [{string.Join(", ", info.SampleShape)}].",
            info => new ModelSpec
            {
                Architecture = "cnn",
                InputShape = info.SampleShape,
                ClassCount = info.ClassCount,
                Channels = [16, 32],
            },
            spec => new Cnn(spec)),
        .. TorchVisionModels.Architectures,
    ]);

    public const int MaxLayers = 8;
    public const int MaxWidth = 8192;
    public const int MaxChannels = 512;
    public const long MaxParameters = 200_000_000;

    /// <summary>
    /// Why a spec from outside (an imported bundle) must not be built, or null: sizes are bounded, and the exact parameter
    /// count is capped, so that a crafted spec cannot make the server allocate unbounded memory.
    /// </summary>
    public static string? Problem(ModelSpec spec)
    {
        if (spec.InputShape is not { Count: >= 1 and <= 3 } || spec.InputShape.Any(d => d is < 1 or > 4096))
        {
            return "inputShape must have 1 to 3 dimensions of 1 to 4096.";
        }

        // One output is a regression model.
        if (spec.ClassCount is < 1 or > 10_000)
        {
            return "classCount must be between 1 and 10,000.";
        }

        // A spec read from JSON can hold an explicit null where the type promises a list.
        if (spec.HiddenSizes is null || spec.Channels is null)
        {
            return "hiddenSizes and channels must be lists (empty when unused).";
        }

        if (spec.HiddenSizes.Count > MaxLayers || spec.HiddenSizes.Any(h => h is < 1 or > MaxWidth))
        {
            return $"hiddenSizes may list at most {MaxLayers} widths of 1 to {MaxWidth}.";
        }

        if (spec.Channels.Count > MaxLayers || spec.Channels.Any(c => c is < 1 or > MaxChannels))
        {
            return $"channels may list at most {MaxLayers} counts of 1 to {MaxChannels}.";
        }

        if (string.Equals(spec.Architecture, "cnn", StringComparison.OrdinalIgnoreCase))
        {
            if (spec.InputShape.Count != 3)
            {
                return "a CNN needs inputShape [channels, height, width].";
            }

            // Each block halves the image; a side that reaches 0 would leave the dense layer nothing to read.
            if (spec.InputShape[1] >> spec.Channels.Count == 0 || spec.InputShape[2] >> spec.Channels.Count == 0)
            {
                return $"an image of [{string.Join(", ", spec.InputShape)}] cannot be halved {spec.Channels.Count} times.";
            }
        }

        if (TorchVisionModels.Covers(spec.Architecture) && TorchVisionModels.Problem(spec) is { } vision)
        {
            return vision;
        }

        // Exact, per architecture, from the spec alone: nothing is built before it is known to fit.
        if (ParameterShapes(spec) is not { } shapes)
        {
            return $"the size of architecture '{spec.Architecture}' cannot be checked.";
        }

        var count = ParameterCount(shapes);
        return count > MaxParameters ? $"the model would have {count:N0} parameters; at most {MaxParameters:N0} are allowed." : null;
    }

    /// <summary>Every parameter a spec of a known architecture implies, by name and shape, or null for other architectures.</summary>
    /// <remarks>Plugin models have no shape rule; <see cref="Shapes"/> builds them to read theirs.</remarks>
    public static IReadOnlyList<ParameterShape>? ParameterShapes(ModelSpec spec) => spec.Architecture?.ToLowerInvariant() switch
    {
        "mlp" => Mlp.ParameterShapes(spec),
        "cnn" => Cnn.ParameterShapes(spec),
        TorchVisionModels.ResNet18 or TorchVisionModels.MobileNetV2 => TorchVisionModels.ParameterShapes(spec),
        _ => null,
    };

    /// <summary>
    /// Every parameter by name and shape: the shape rule for built-ins; a plugin model has none, so it is built once
    /// (leaving torch's global generator untouched) and its parameters are read.
    /// </summary>
    public IReadOnlyList<ParameterShape> Shapes(ModelSpec spec) => ParameterShapes(spec) ?? BuiltShapes(Find(spec), spec);

    /// <summary>
    /// Why a plugin model of <paramref name="spec"/> must not train, or null: its build throws, or it has more than
    /// <see cref="MaxParameters"/> weights. Its schema's bounds keep a single build small; this catches what they let by.
    /// </summary>
    public string? BuildProblem(ModelSpec spec) =>
        TryGet(spec.Architecture, out var architecture) ? BuildProblem(architecture, spec) : $"Unknown model '{spec.Architecture}'.";

    /// <inheritdoc cref="BuildProblem(ModelSpec)"/>
    public static string? BuildProblem(ModelArchitecture architecture, ModelSpec spec)
    {
        try
        {
            var count = ParameterCount(ParameterShapes(spec) ?? BuiltShapes(architecture, spec));
            return count > MaxParameters ? $"The model would have {count:N0} parameters; at most {MaxParameters:N0} are allowed." : null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A plugin's code is not ours: whatever it throws is its problem to report, not the request's crash.
            return $"The model could not be built: {e.Message}";
        }
    }

    private static IReadOnlyList<ParameterShape> BuiltShapes(ModelArchitecture architecture, ModelSpec spec)
    {
        using var model = GlobalGenerator.Untouched(() => architecture.Build(spec));
        return [.. model.named_parameters().Select(p => new ParameterShape(p.name, p.parameter.shape))];
    }

    /// <summary>The number of weights the shapes hold.</summary>
    public static long ParameterCount(IEnumerable<ParameterShape> shapes) => shapes.Aggregate(0L, (sum, shape) => checked(sum + shape.ElementCount));

    public IEnumerable<ModelArchitecture> All => _architectures.Values.OrderBy(a => a.Name, StringComparer.Ordinal);

    /// <summary>Adds a plugin's architecture; false when the name is taken (by a built-in or another plugin).</summary>
    public bool TryAdd(ModelArchitecture architecture) => _architectures.TryAdd(architecture.Name, architecture);

    public bool TryGet(string? name, [NotNullWhen(true)] out ModelArchitecture? architecture)
    {
        architecture = null;
        return name is not null && _architectures.TryGetValue(name, out architecture);
    }

    /// <summary>
    /// Builds the model a spec describes for inspection or to load weights into (parameter names, evaluation, export,
    /// import). Its initial weights are arbitrary, and building it leaves torch's global generator as it was: a page
    /// opened while a run seeds and builds must not change that run's initial weights.
    /// </summary>
    public nn.Module<Tensor, Tensor> Build(ModelSpec spec)
    {
        var architecture = Find(spec);
        return GlobalGenerator.Untouched(() => architecture.Build(spec));
    }

    /// <summary>Builds the model a spec describes with the initial weights <paramref name="seed"/> gives, as a run starts.</summary>
    public nn.Module<Tensor, Tensor> Build(ModelSpec spec, long seed)
    {
        var architecture = Find(spec);
        return GlobalGenerator.Seeded(seed, () => architecture.Build(spec));
    }

    private ModelArchitecture Find(ModelSpec spec) =>
        TryGet(spec.Architecture, out var architecture)
            ? architecture
            : throw new KeyNotFoundException($"Unknown model '{spec.Architecture}'.");
}
