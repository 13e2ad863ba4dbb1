using Dashboard.Data.Entities;
using Dashboard.Runs.Contracts;
using Dashboard.Engine.Policies;

namespace Dashboard.ComponentTests.Support;

/// <summary>DTOs as the pages receive them, for components that take them directly.</summary>
public static class TestData
{
    public static MetricDto Epoch(int epoch, double loss, double valLoss, double? accuracy = null, double? valAccuracy = null) =>
        new(epoch, epoch * 10L, loss, valLoss, accuracy, valAccuracy, 0.01, 1500, 4000);

    /// <param name="step">The global step; by default the end of <paramref name="epoch"/> at ten steps an epoch, as <see cref="Epoch"/> has it.</param>
    public static CheckpointDto Checkpoint(
        int id,
        int epoch,
        double? valLoss = null,
        string kind = CheckpointKind.Periodic,
        string status = CheckpointStatus.Durable,
        bool pinned = false,
        long? step = null) =>
        new(
            id,
            RunId: 1,
            epoch,
            step ?? epoch * 10L,
            valLoss is { } v ? new Dictionary<string, double> { ["valLoss"] = v } : [],
            SizeBytes: 2048,
            Sha256: new string('a', 64),
            kind,
            pinned,
            status,
            new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc));
}
