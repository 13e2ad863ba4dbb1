using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Dashboard.Engine.Models;

/// <summary>A fully connected classifier: flatten, then Linear+ReLU per hidden size, then a Linear head.</summary>
public sealed class Mlp : Module<Tensor, Tensor>
{
    // Component names follow PyTorch's (layers.fc1.weight, …) so exported weights load by name there too.
    [ComponentName(Name = "layers")]
    private readonly Sequential _layers;

    public Mlp(ModelSpec spec) : base("Mlp")
    {
        var inputs = spec.InputShape.Aggregate(1, (a, b) => a * b);
        var modules = new List<(string, Module<Tensor, Tensor>)> { ("flatten", Flatten()) };
        var width = inputs;
        for (var i = 0; i < spec.HiddenSizes.Count; i++)
        {
            modules.Add(($"fc{i + 1}", Linear(width, spec.HiddenSizes[i])));
            modules.Add(($"relu{i + 1}", ReLU()));
            width = spec.HiddenSizes[i];
        }

        modules.Add(("head", Linear(width, spec.ClassCount)));
        _layers = Sequential(modules);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => _layers.forward(input);

    /// <summary>
    /// The name and shape of every parameter the constructor makes, in its order, computed without building anything:
    /// a spec from outside is sized (and its weights' shapes checked) before any memory is spent on it.
    /// </summary>
    public static IReadOnlyList<ParameterShape> ParameterShapes(ModelSpec spec)
    {
        var shapes = new List<ParameterShape>();
        var width = spec.InputShape.Aggregate(1L, (a, b) => checked(a * b));
        for (var i = 0; i < spec.HiddenSizes.Count; i++)
        {
            shapes.Add(new($"layers.fc{i + 1}.weight", [spec.HiddenSizes[i], width]));
            shapes.Add(new($"layers.fc{i + 1}.bias", [spec.HiddenSizes[i]]));
            width = spec.HiddenSizes[i];
        }

        shapes.Add(new("layers.head.weight", [spec.ClassCount, width]));
        shapes.Add(new("layers.head.bias", [spec.ClassCount]));
        return shapes;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _layers.Dispose();
        }

        base.Dispose(disposing);
    }
}
