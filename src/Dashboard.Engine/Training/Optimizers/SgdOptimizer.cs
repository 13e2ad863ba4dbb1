using TorchSharp;
using TorchSharp.Modules;

namespace Dashboard.Engine.Training.Optimizers;

/// <summary>PyTorch's SGD with momentum (no dampening, no Nesterov, no weight decay).</summary>
public sealed class SgdOptimizer(IEnumerable<Parameter> parameters, double learningRate, double momentum)
    : TrainingOptimizer(OptimizerNames.Sgd, parameters, learningRate, slotsPerParameter: 1)
{
    public double Momentum { get; } = momentum;

    protected override void Update(IReadOnlyList<ParameterState> parameters)
    {
        // The buffer starts at zero, so the first step leaves it equal to the gradient, as PyTorch's clone does.
        using Scalar momentumFactor = Momentum, one = 1.0, descent = -LearningRate;
        foreach (var (parameter, grad, slots) in parameters)
        {
            var buffer = slots[0];
            buffer.mul_(momentumFactor).add_(grad, one);
            parameter.add_(buffer, descent);
        }
    }
}
