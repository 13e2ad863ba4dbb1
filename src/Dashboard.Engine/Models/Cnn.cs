using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Dashboard.Engine.Models;

/// <summary>
/// A small convolutional classifier for images: per entry of <see cref="ModelSpec.Channels"/> a 3×3 convolution, ReLU and
/// 2×2 max-pool; then a hidden dense layer and a Linear head.
/// </summary>
public sealed class Cnn : Module<Tensor, Tensor>
{
    public const int DenseSize = 64;

    [ComponentName(Name = "features")]
    private readonly Sequential _features;

    [ComponentName(Name = "classifier")]
    private readonly Sequential _classifier;

    public Cnn(ModelSpec spec) : base("Cnn")
    {
        if (spec.InputShape.Count != 3)
        {
            throw new ArgumentException("A CNN needs image input shaped [channels, height, width].", nameof(spec));
        }

        var channels = spec.InputShape[0];
        var height = spec.InputShape[1];
        var width = spec.InputShape[2];
        var features = new List<(string, Module<Tensor, Tensor>)>();
        for (var i = 0; i < spec.Channels.Count; i++)
        {
            features.Add(($"conv{i + 1}", Conv2d(channels, spec.Channels[i], kernel_size: 3, padding: 1)));
            features.Add(($"relu{i + 1}", ReLU()));
            features.Add(($"pool{i + 1}", MaxPool2d(kernel_size: 2)));
            channels = spec.Channels[i];
            height /= 2;
            width /= 2;
        }

        _features = Sequential(features);
        _classifier = Sequential(
            ("flatten", Flatten()),
            ("fc1", Linear(channels * height * width, DenseSize)),
            ("relu", ReLU()),
            ("head", Linear(DenseSize, spec.ClassCount)));
        RegisterComponents();
    }

    /// <summary>
    /// The name and shape of every parameter the constructor makes, in its order, computed without building anything
    /// (see <see cref="Mlp.ParameterShapes"/>). Each block halves the image, rounding down as max-pooling does.
    /// </summary>
    public static IReadOnlyList<ParameterShape> ParameterShapes(ModelSpec spec)
    {
        if (spec.InputShape.Count != 3)
        {
            throw new ArgumentException("A CNN needs image input shaped [channels, height, width].", nameof(spec));
        }

        var shapes = new List<ParameterShape>();
        long channels = spec.InputShape[0];
        long height = spec.InputShape[1];
        long width = spec.InputShape[2];
        for (var i = 0; i < spec.Channels.Count; i++)
        {
            shapes.Add(new($"features.conv{i + 1}.weight", [spec.Channels[i], channels, 3, 3]));
            shapes.Add(new($"features.conv{i + 1}.bias", [spec.Channels[i]]));
            channels = spec.Channels[i];
            height /= 2;
            width /= 2;
        }

        shapes.Add(new("classifier.fc1.weight", [DenseSize, checked(channels * height * width)]));
        shapes.Add(new("classifier.fc1.bias", [DenseSize]));
        shapes.Add(new("classifier.head.weight", [spec.ClassCount, DenseSize]));
        shapes.Add(new("classifier.head.bias", [spec.ClassCount]));
        return shapes;
    }

    public override Tensor forward(Tensor input)
    {
        using var features = _features.forward(input);
        return _classifier.forward(features);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _features.Dispose();
            _classifier.Dispose();
        }

        base.Dispose(disposing);
    }
}
