using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Dashboard.Engine.Models;

/// <summary>
/// A TorchVision network whose children are registered here under their own names, so parameter and buffer names are
/// exactly TorchVision's (no wrapper prefix). A grey image is repeated to three channels in <see cref="forward"/> instead
/// of building a one-channel first convolution: the network, and so its weights, stays the RGB one, which pre-trained
/// ImageNet weights fit and which PyTorch code loads unchanged.
/// </summary>
public sealed class TorchVisionModel : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> _network;
    private readonly bool _grey;

    public TorchVisionModel(ModelSpec spec, Module<Tensor, Tensor> network) : base(network.GetName())
    {
        if (TorchVisionModels.Problem(spec) is { } problem)
        {
            network.Dispose();
            throw new ArgumentException(problem, nameof(spec));
        }

        _network = network;
        _grey = spec.InputShape[0] == 1;
        foreach (var (name, child) in network.named_children())
        {
            register_module(name, child);
        }
    }

    public override Tensor forward(Tensor input)
    {
        // A training batch of one sample (the last of an epoch whose training split leaves one over) cannot be batch-
        // normalised: where the network has shrunk it to 1×1, its variance is 0/0 and NaN would enter the running
        // statistics (PyTorch refuses such a batch outright). It is normalised with the running statistics instead, as in
        // evaluation; its gradients still train the weights, and the same batch does the same on a resumed run.
        if (training && input.shape[0] == 1)
        {
            eval();
            try
            {
                return Forward(input);
            }
            finally
            {
                train();
            }
        }

        return Forward(input);
    }

    private Tensor Forward(Tensor input)
    {
        if (!_grey)
        {
            return _network.forward(input);
        }

        using var rgb = input.expand(-1, 3, -1, -1);
        return _network.forward(rgb);
    }

    protected override void Dispose(bool disposing)
    {
        // The children are this module's too; disposing them twice is a no-op in TorchSharp.
        if (disposing)
        {
            _network.Dispose();
        }

        base.Dispose(disposing);
    }
}
