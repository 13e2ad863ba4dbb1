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

    public double LearningRate { get; set; }

    public double DurationMs { get; set; }

    public double SamplesPerSecond { get; set; }

    public DateTime CreatedAt { get; set; }
}
