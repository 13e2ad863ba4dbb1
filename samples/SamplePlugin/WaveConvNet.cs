using Dashboard.Plugins;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SamplePlugin;

/// <summary>Conv1d → ReLU → mean over time → Linear. Parameters: conv.weight, conv.bias, head.weight, head.bias.</summary>
public sealed class WaveConvNet : nn.Module<Tensor, Tensor>
{
    private readonly Conv1d conv;
    private readonly Linear head;

    public WaveConvNet(ModelBuildContext context) : base("wave-conv")
    {
        var width = context.Int("width");
        var kernel = context.Int("kernel");
        conv = nn.Conv1d(context.InputShape[0], width, kernel, padding: kernel / 2);
        head = nn.Linear(width, context.OutputCount);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => head.forward(nn.functional.relu(conv.forward(input)).mean([2]));

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            conv.Dispose();
            head.Dispose();
        }

        base.Dispose(disposing);
    }
}
