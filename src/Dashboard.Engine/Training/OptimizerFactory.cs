using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Dashboard.Engine.Training;

public static class OptimizerFactory
{
    public const double SgdMomentum = 0.9;
    public const double AdamWWeightDecay = 0.01;

    public static OptimizerHelper Create(string name, IEnumerable<Parameter> parameters, double learningRate) => name switch
    {
        OptimizerNames.Sgd => optim.SGD(parameters, learningRate, momentum: SgdMomentum),
        OptimizerNames.Adam => optim.Adam(parameters, learningRate),
        OptimizerNames.AdamW => optim.AdamW(parameters, learningRate, weight_decay: AdamWWeightDecay),
        _ => throw new ArgumentException($"Unknown optimizer '{name}'.", nameof(name)),
    };
}
