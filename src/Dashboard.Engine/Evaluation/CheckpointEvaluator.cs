using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using static TorchSharp.torch;

namespace Dashboard.Engine.Evaluation;

/// <summary>How a checkpoint does on its dataset's held-out test split.</summary>
/// <param name="Accuracy">Classification: share of correct predictions. Regression: the mean absolute error.</param>
/// <param name="Confusion">Rows are true classes, columns predicted ones; empty for regression.</param>
/// <param name="Regression">Regression only: predicted-vs-true figures.</param>
public sealed record EvaluationResult(string Dataset, int Samples, double Loss, double Accuracy, int[][] Confusion, RegressionFigures? Regression = null);

/// <summary>Predicted against true values on the test split; residuals are true minus predicted.</summary>
public sealed record RegressionFigures(double Mae, double Rmse, double R2, double ResidualMean, double ResidualMin, double ResidualMedian, double ResidualMax);

/// <summary>Runs a checkpoint's model on data it never trained or validated on.</summary>
public sealed class CheckpointEvaluator(DatasetRegistry datasets, ModelRegistry models)
{
    public EvaluationResult EvaluateTestSplit(LoadedCheckpoint checkpoint)
    {
        var config = checkpoint.Manifest.Config;
        var source = datasets.Get(config.Dataset);
        using var scope = NewDisposeScope();
        using var splits = DatasetSplitter.Split(source.Load(), config.ValidationSplit, config.SampleLimit, CPU, config.ClassFilter);
        using var model = Load(checkpoint);
        var (loss, score) = Training.TrainingObjective.Evaluate(model, splits.Test);
        if (Training.TrainingObjective.IsRegression(splits.Test.Labels))
        {
            using (no_grad())
            {
                var predicted = model.forward(splits.Test.Features).to_type(ScalarType.Float64).data<double>().ToArray();
                var actual = splits.Test.Labels.to_type(ScalarType.Float64).data<double>().ToArray();
                return new EvaluationResult(config.Dataset, splits.Test.Count, loss, score, [], Figures(predicted, actual));
            }
        }

        var classes = checkpoint.Manifest.ModelSpec.ClassCount;
        var confusion = Enumerable.Range(0, classes).Select(_ => new int[classes]).ToArray();
        using (no_grad())
        {
            var predicted = model.forward(splits.Test.Features).argmax(1).data<long>().ToArray();
            var actual = splits.Test.Labels.data<long>().ToArray();
            for (var i = 0; i < actual.Length; i++)
            {
                confusion[actual[i]][predicted[i]]++;
            }
        }

        return new EvaluationResult(config.Dataset, splits.Test.Count, loss, score, confusion);
    }

    /// <summary>MAE, RMSE, R² and a residual summary of predictions against true values.</summary>
    public static RegressionFigures Figures(IReadOnlyList<double> predicted, IReadOnlyList<double> actual)
    {
        if (actual.Count == 0)
        {
            return new RegressionFigures(double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        }

        var residuals = actual.Select((y, i) => y - predicted[i]).Order().ToArray();
        var mean = actual.Average();
        var total = actual.Sum(y => (y - mean) * (y - mean));
        var squared = residuals.Sum(r => r * r);
        var median = residuals.Length % 2 == 1
            ? residuals[residuals.Length / 2]
            : (residuals[(residuals.Length / 2) - 1] + residuals[residuals.Length / 2]) / 2;
        return new RegressionFigures(
            residuals.Average(Math.Abs),
            Math.Sqrt(squared / residuals.Length),
            total > 0 ? 1 - (squared / total) : double.NaN,
            residuals.Average(),
            residuals[0],
            median,
            residuals[^1]);
    }

    /// <summary>
    /// For one sample shaped like the model's input (e.g. 784 MNIST-normalised pixels): the class probabilities, or for a
    /// regression model (one output) the predicted value alone.
    /// </summary>
    public double[] Predict(LoadedCheckpoint checkpoint, float[] sample)
    {
        var shape = checkpoint.Manifest.ModelSpec.InputShape;
        var size = shape.Aggregate(1, (a, b) => a * b);
        if (sample.Length != size)
        {
            throw new ArgumentException($"The model takes {size} values shaped [{string.Join(", ", shape)}]; got {sample.Length}.", nameof(sample));
        }

        using var scope = NewDisposeScope();
        using var model = Load(checkpoint);
        using (no_grad())
        {
            var input = tensor(sample, [1, .. shape.Select(d => (long)d)]);
            var output = model.forward(input);
            var values = IsRegression(checkpoint) ? output : nn.functional.softmax(output, 1);
            return [.. values.to_type(ScalarType.Float64).data<double>()];
        }
    }

    /// <summary>A model with a single output is a regression model: no classifier has fewer than two classes.</summary>
    public static bool IsRegression(LoadedCheckpoint checkpoint) => checkpoint.Manifest.ModelSpec.ClassCount == 1;

    private nn.Module<Tensor, Tensor> Load(LoadedCheckpoint checkpoint)
    {
        var model = models.Build(checkpoint.Manifest.ModelSpec);
        using (var reader = new BinaryReader(new MemoryStream(checkpoint.Weights)))
        {
            model.load(reader);
        }

        model.eval();
        return model;
    }
}
