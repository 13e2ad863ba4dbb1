using static TorchSharp.torch;

namespace Dashboard.Engine.Datasets;

/// <summary>One split of a dataset, resident on the training device.</summary>
public sealed class DatasetSplit : IDisposable
{
    public DatasetSplit(Tensor features, Tensor labels)
    {
        if (features.shape[0] != labels.shape[0])
        {
            throw new ArgumentException("Features and labels must have the same number of samples.");
        }

        Features = features;
        Labels = labels;
    }

    public Tensor Features { get; }

    public Tensor Labels { get; }

    public int Count => (int)Labels.shape[0];

    public void Dispose()
    {
        Features.Dispose();
        Labels.Dispose();
    }
}

/// <summary>Train, validation and test splits of one dataset.</summary>
public sealed class DatasetSplits(DatasetSplit train, DatasetSplit validation, DatasetSplit test) : IDisposable
{
    public DatasetSplit Train { get; } = train;

    public DatasetSplit Validation { get; } = validation;

    public DatasetSplit Test { get; } = test;

    public void Dispose()
    {
        Train.Dispose();
        Validation.Dispose();
        Test.Dispose();
    }
}
