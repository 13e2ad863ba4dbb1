using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using static TorchSharp.torch;

namespace Dashboard.Engine.Evaluation;

/// <summary>How a checkpoint does on its dataset's held-out test split.</summary>
/// <param name="Confusion">Rows are true classes, columns predicted ones.</param>
public sealed record EvaluationResult(string Dataset, int Samples, double Loss, double Accuracy, int[][] Confusion);

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
        var (loss, accuracy) = Training.Trainer.Evaluate(model, splits.Test);

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

        return new EvaluationResult(config.Dataset, splits.Test.Count, loss, accuracy, confusion);
    }

    /// <summary>Class probabilities for one sample shaped like the model's input (e.g. 784 MNIST-normalised pixels).</summary>
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
            return [.. nn.functional.softmax(model.forward(input), 1).to_type(ScalarType.Float64).data<double>()];
        }
    }

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
