using Dashboard.Engine.Export;
using Dashboard.Engine.Models;
using static TorchSharp.torch;

namespace Dashboard.Engine.Weights;

/// <summary>A tensor present in both model and file under one name, with different shapes: it is left at its init.</summary>
public sealed record ShapeMismatch(string Name, IReadOnlyList<long> Expected, IReadOnlyList<long> Actual);

/// <summary>
/// How a weights file fits a model, as PyTorch's <c>load_state_dict(strict=False)</c> reports it: the names copied, the
/// model's tensors the file lacks, the file's tensors the model lacks, and the names whose shapes differ. Names are in
/// the model's order, unexpected ones in the file's.
/// </summary>
public sealed record WeightsMatch(
    IReadOnlyList<string> Matched,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unexpected,
    IReadOnlyList<ShapeMismatch> ShapeMismatches);

/// <summary>Matches a weights file against a model, and copies the matched tensors into a freshly seeded one.</summary>
public static class WeightsMatcher
{
    public static WeightsMatch Match(IReadOnlyList<ParameterShape> model, IEnumerable<(string Name, IReadOnlyList<long> Shape)> file)
    {
        var inFile = new Dictionary<string, IReadOnlyList<long>>(StringComparer.Ordinal);
        var fileOrder = new List<string>();
        foreach (var (name, shape) in file)
        {
            if (inFile.TryAdd(name, shape))
            {
                fileOrder.Add(name);
            }
        }

        var matched = new List<string>();
        var missing = new List<string>();
        var mismatches = new List<ShapeMismatch>();
        foreach (var parameter in model)
        {
            if (!inFile.TryGetValue(parameter.Name, out var shape))
            {
                missing.Add(parameter.Name);
            }
            else if (shape.SequenceEqual(parameter.Shape))
            {
                matched.Add(parameter.Name);
            }
            else
            {
                mismatches.Add(new ShapeMismatch(parameter.Name, parameter.Shape, shape));
            }
        }

        var names = model.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        return new WeightsMatch(matched, missing, [.. fileOrder.Where(n => !names.Contains(n))], mismatches);
    }

    /// <summary>The tensors a built model's state_dict holds (parameters and buffers), by name and shape.</summary>
    public static IReadOnlyList<ParameterShape> Shapes(nn.Module<Tensor, Tensor> model) =>
        [.. model.state_dict().Select(p => new ParameterShape(p.Key, p.Value.shape))];

    /// <summary>
    /// Copies every tensor of <paramref name="weights"/> whose name and shape the model has into it, bit for bit; the rest
    /// of the model keeps the weights it was built with. Draws nothing from torch's generator. Returns how many it copied.
    /// </summary>
    public static int CopyMatched(nn.Module<Tensor, Tensor> model, IReadOnlyList<NamedTensor> weights)
    {
        var byName = weights.ToDictionary(w => w.Name, StringComparer.Ordinal);
        var copied = 0;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (name, target) in model.state_dict())
        {
            if (byName.TryGetValue(name, out var source) && source.Shape.SequenceEqual(target.shape) && target.dtype == ScalarType.Float32)
            {
                target.copy_(tensor(source.Data, [.. source.Shape]));
                copied++;
            }
        }

        return copied;
    }
}
