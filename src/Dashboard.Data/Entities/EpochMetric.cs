namespace Dashboard.Data.Entities;

public sealed class EpochMetric
{
    public long Id { get; set; }

    public int RunId { get; set; }

    public int Epoch { get; set; }

    public long Step { get; set; }

    public double Loss { get; set; }

    public double ValLoss { get; set; }

    public double? Accuracy { get; set; }

    public double? ValAccuracy { get; set; }

    /// <summary>Regression runs: mean absolute error on the training batches of the epoch.</summary>
    public double? Mae { get; set; }

    /// <summary>Regression runs: mean absolute error on the validation split.</summary>
    public double? ValMae { get; set; }

    public double LearningRate { get; set; }

    public double DurationMs { get; set; }

    public double SamplesPerSecond { get; set; }

    public DateTime CreatedAt { get; set; }
}
