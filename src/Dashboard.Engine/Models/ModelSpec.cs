namespace Dashboard.Engine.Models;

/// <summary>
/// Everything needed to rebuild a model without code: stored with every run and checkpoint, so a checkpoint can be loaded,
/// fine-tuned or exported long after the run that made it.
/// </summary>
public sealed record ModelSpec
{
    /// <summary>Registry key of the architecture, e.g. "mlp" or "cnn".</summary>
    public required string Architecture { get; init; }

    /// <summary>Shape of one input sample, without the batch dimension.</summary>
    public required IReadOnlyList<int> InputShape { get; init; }

    public required int ClassCount { get; init; }

    /// <summary>MLP: widths of the hidden layers, in order.</summary>
    public IReadOnlyList<int> HiddenSizes { get; init; } = [];

    /// <summary>CNN: output channels of each 3×3 convolution block (each block halves the image).</summary>
    public IReadOnlyList<int> Channels { get; init; } = [];

    /// <summary>Plugin models: every hyperparameter by name, defaults filled in; empty for built-in architectures.</summary>
    public IReadOnlyDictionary<string, double> Hyperparameters { get; init; } = new Dictionary<string, double>();

    /// <summary>The plugin build the model came from, so a resume can tell a changed plugin apart; null for built-ins.</summary>
    public PluginIdentity? Plugin { get; init; }

    public bool Equals(ModelSpec? other) =>
        other is not null
        && Architecture == other.Architecture
        && ClassCount == other.ClassCount
        && InputShape.SequenceEqual(other.InputShape)
        && HiddenSizes.SequenceEqual(other.HiddenSizes)
        && Channels.SequenceEqual(other.Channels)
        && Hyperparameters.Count == other.Hyperparameters.Count
        && Hyperparameters.All(h => other.Hyperparameters.TryGetValue(h.Key, out var value) && value.Equals(h.Value))
        && Plugin == other.Plugin;

    public override int GetHashCode() =>
        HashCode.Combine(Architecture, ClassCount, InputShape.Count, HiddenSizes.Count, Channels.Count, Hyperparameters.Count, Plugin);
}

/// <summary>One parameter tensor a spec implies: its PyTorch-style name and shape.</summary>
public sealed record ParameterShape(string Name, IReadOnlyList<long> Shape)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => checked(a * b));
}

/// <summary>Which build of a plugin made a model: its assembly name, informational version and the dll's SHA-256 (hex).</summary>
public sealed record PluginIdentity(string Name, string Version, string AssemblySha256)
{
    public string ShortSha => AssemblySha256.Length > 12 ? AssemblySha256[..12] : AssemblySha256;

    public override string ToString() => $"{Name} {Version} (sha256 {ShortSha})";
}
