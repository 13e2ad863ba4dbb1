using System.Collections.Concurrent;
using Dashboard.Plugins;
using static TorchSharp.torch;
using TorchSharp;

namespace Dashboard.Engine.Models;

/// <summary>
/// TorchVision's ResNet-18 and MobileNet v2 as built-in architectures for image datasets. Their parameter names are
/// TorchVision's own (<c>conv1.weight</c>, <c>fc.weight</c>, <c>features.0.0.weight</c>, <c>classifier.1.weight</c>), so
/// weights exported here read in PyTorch's <c>torchvision.models</c> and the other way round.
/// </summary>
public static class TorchVisionModels
{
    public const string ResNet18 = "resnet18";
    public const string MobileNetV2 = "mobilenet_v2";

    /// <summary>Both networks shrink an image 32-fold; below this side the last blocks see a single pixel or less.</summary>
    public const int MinSide = 32;

    // Shapes depend only on the class count (the head); building a network to read them costs ~0.5 s, so once per name.
    private static readonly ConcurrentDictionary<string, IReadOnlyList<ParameterShape>> ShapesByName = new();

    public static IEnumerable<ModelArchitecture> Architectures { get; } =
    [
        new(
            ResNet18,
            "ResNet-18 (TorchVision)",
            "TorchVision's ResNet-18: 11 M parameters with batch normalisation; for image datasets of at least 32×32.",
            Incompatibility,
            info => DefaultSpec(ResNet18, info),
            spec => new TorchVisionModel(spec, BuildNetwork(ResNet18, spec.ClassCount))),
        new(
            MobileNetV2,
            "MobileNet v2 (TorchVision)",
            "TorchVision's MobileNet v2: 2.2 M parameters with batch normalisation; for image datasets of at least 32×32.",
            Incompatibility,
            info => DefaultSpec(MobileNetV2, info),
            spec => new TorchVisionModel(spec, BuildNetwork(MobileNetV2, spec.ClassCount))),
    ];

    public static bool Covers(string? architecture) =>
        string.Equals(architecture, ResNet18, StringComparison.OrdinalIgnoreCase) || string.Equals(architecture, MobileNetV2, StringComparison.OrdinalIgnoreCase);

    /// <summary>Why a spec cannot be built, or null: the input must be a grey or RGB image of at least <see cref="MinSide"/> pixels.</summary>
    public static string? Problem(ModelSpec spec) =>
        spec.InputShape.Count == 3 && spec.InputShape[0] is 1 or 3 && spec.InputShape[1] >= MinSide && spec.InputShape[2] >= MinSide
            ? null
            : $"{spec.Architecture} needs inputShape [1 or 3, height, width] with sides of at least {MinSide}.";

    /// <summary>
    /// Every parameter's name and shape. Read from a network built once per architecture (under the generator's lock, leaving
    /// it as it was) with the head's output count then set to the spec's: only the head depends on the spec. The order is
    /// TorchSharp's registration order (MobileNet lists its classifier first), the names are TorchVision's.
    /// </summary>
    public static IReadOnlyList<ParameterShape> ParameterShapes(ModelSpec spec)
    {
        var name = spec.Architecture.ToLowerInvariant();
        var shapes = ShapesByName.GetOrAdd(name, key => GlobalGenerator.Untouched(() =>
        {
            using var scope = NewDisposeScope();
            using var network = BuildNetwork(key, 2);
            return (IReadOnlyList<ParameterShape>)[.. network.named_parameters().Select(p => new ParameterShape(p.name, p.parameter.shape))];
        }));

        // The head, the one layer whose shape follows the spec: its weight [classes, features] and bias [classes].
        var head = name == ResNet18 ? "fc." : "classifier.1.";
        return [.. shapes.Select(p => !p.Name.StartsWith(head, StringComparison.Ordinal) ? p
            : p.Shape.Count == 2 ? new ParameterShape(p.Name, [spec.ClassCount, p.Shape[1]])
            : new ParameterShape(p.Name, [spec.ClassCount]))];
    }

    private static string? Incompatibility(DatasetInfo info) =>
        info.IsImage && info.SampleShape[0] is 1 or 3 && info.SampleShape[1] >= MinSide && info.SampleShape[2] >= MinSide
            ? null
            : info.IsImage
                ? $"TorchVision's networks shrink an image 32-fold and need sides of at least {MinSide} with 1 or 3 channels; '{info.Name}' has samples shaped [{string.Join(", ", info.SampleShape)}]. Upload it with imageSize 32 or more."
                : $"TorchVision's networks are convolutional and need images; '{info.Name}' has samples shaped [{string.Join(", ", info.SampleShape)}].";

    private static ModelSpec DefaultSpec(string architecture, DatasetInfo info) => new()
    {
        Architecture = architecture,
        InputShape = info.SampleShape,
        ClassCount = info.ClassCount,
    };

    // MobileNet's dropout is off: a dropout mask draws from torch's process-wide generator while training, outside the
    // seeded section, so a concurrent run's seeding would change it and resume could not be exact. ResNet has none.
    private static nn.Module<Tensor, Tensor> BuildNetwork(string architecture, int classCount) => architecture.ToLowerInvariant() switch
    {
        ResNet18 => torchvision.models.resnet18(num_classes: classCount),
        MobileNetV2 => torchvision.models.mobilenet_v2(num_classes: classCount, dropout: 0),
        _ => throw new KeyNotFoundException($"Unknown TorchVision architecture '{architecture}'."),
    };
}
