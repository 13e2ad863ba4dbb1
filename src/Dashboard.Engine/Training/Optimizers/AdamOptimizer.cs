using TorchSharp;
using TorchSharp.Modules;

namespace Dashboard.Engine.Training.Optimizers;

/// <summary>
/// PyTorch's Adam, and AdamW when <paramref name="decoupledWeightDecay"/> is above zero (the decay shrinks the weights
/// before the Adam update instead of being added to the gradient).
/// </summary>
public sealed class AdamOptimizer(
    string name,
    IEnumerable<Parameter> parameters,
    double learningRate,
    double decoupledWeightDecay = 0,
    double beta1 = 0.9,
    double beta2 = 0.999,
    double epsilon = 1e-8)
    : TrainingOptimizer(name, parameters, learningRate, slotsPerParameter: 2)
{
    protected override void Update(IReadOnlyList<ParameterState> parameters)
    {
        var biasCorrection1 = 1 - Math.Pow(beta1, StepCount);
        var biasCorrection2 = 1 - Math.Pow(beta2, StepCount);
        using Scalar decay = 1 - (LearningRate * decoupledWeightDecay),
            keep1 = beta1,
            take1 = 1 - beta1,
            keep2 = beta2,
            take2 = 1 - beta2,
            correction2 = Math.Sqrt(biasCorrection2),
            eps = epsilon,
            one = 1.0,
            stepSize = -LearningRate / biasCorrection1;
        foreach (var (parameter, grad, slots) in parameters)
        {
            var (average, averageSquare) = (slots[0], slots[1]);
            if (decoupledWeightDecay > 0)
            {
                parameter.mul_(decay);
            }

            average.mul_(keep1).add_(grad, take1);
            averageSquare.mul_(keep2).addcmul_(grad, grad, take2);
            var denominator = averageSquare.sqrt().div_(correction2).add_(eps, one);
            parameter.addcdiv_(average, denominator, stepSize);
        }
    }
}
