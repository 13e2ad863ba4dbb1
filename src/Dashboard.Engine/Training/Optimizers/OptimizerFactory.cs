using TorchSharp.Modules;

namespace Dashboard.Engine.Training.Optimizers;

public static class OptimizerFactory
{
    public const double SgdMomentum = 0.9;
    public const double AdamWWeightDecay = 0.01;

    public static TrainingOptimizer Create(string name, IEnumerable<Parameter> parameters, double learningRate) => name switch
    {
        OptimizerNames.Sgd => new SgdOptimizer(parameters, learningRate, SgdMomentum),
        OptimizerNames.Adam => new AdamOptimizer(OptimizerNames.Adam, parameters, learningRate),
        OptimizerNames.AdamW => new AdamOptimizer(OptimizerNames.AdamW, parameters, learningRate, AdamWWeightDecay),
        _ => throw new ArgumentException($"Unknown optimizer '{name}'.", nameof(name)),
    };
}
