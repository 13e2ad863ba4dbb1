using Dashboard.Engine.Datasets;
using static TorchSharp.torch;

namespace Dashboard.Engine.Training;

/// <summary>
/// The loss and the per-sample score of a task, told apart by the targets' type: class labels (Int64) are classification
/// (cross-entropy; the score counts correct predictions, reported as accuracy), float targets are regression (mean
/// squared error; the score sums absolute errors, reported as MAE).
/// </summary>
public static class TrainingObjective
{
    private const int EvaluationBatchSize = 1000;

    public static bool IsRegression(Tensor targets) => targets.dtype == ScalarType.Float32;

    public static Tensor Loss(Tensor outputs, Tensor targets, nn.Reduction reduction = nn.Reduction.Mean) =>
        IsRegression(targets)
            ? nn.functional.mse_loss(outputs, targets, reduction)
            : nn.functional.cross_entropy(outputs, targets, reduction: reduction);

    /// <summary>Correct predictions (classification) or the sum of absolute errors (regression) over the batch.</summary>
    public static double Score(Tensor outputs, Tensor targets) =>
        IsRegression(targets)
            ? outputs.sub(targets).abs().sum().to_type(ScalarType.Float64).item<double>()
            : outputs.argmax(1).eq(targets).sum().item<long>();

    /// <summary>Mean loss and mean score (accuracy or MAE) of <paramref name="model"/> over a whole split, without gradients.</summary>
    public static (double Loss, double Score) Evaluate(nn.Module<Tensor, Tensor> model, DatasetSplit data)
    {
        model.eval();
        double lossSum = 0;
        double scoreSum = 0;
        using (no_grad())
        {
            for (var start = 0; start < data.Count; start += EvaluationBatchSize)
            {
                var size = Math.Min(EvaluationBatchSize, data.Count - start);
                using var scope = NewDisposeScope();
                var inputs = data.Features.narrow(0, start, size);
                var targets = data.Labels.narrow(0, start, size);
                var outputs = model.forward(inputs);
                lossSum += Loss(outputs, targets, nn.Reduction.Sum).item<float>();
                scoreSum += Score(outputs, targets);
            }
        }

        return data.Count == 0 ? (double.NaN, double.NaN) : (lossSum / data.Count, scoreSum / data.Count);
    }
}
