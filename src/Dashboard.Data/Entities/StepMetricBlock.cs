namespace Dashboard.Data.Entities;

/// <summary>
/// The roll-up of one block of a run's steps (<c>Step &gt;&gt; StepMetricStore.BlockShift</c> = <see cref="Block"/>), kept
/// by <c>StepMetricStore</c> in the same transaction as the <see cref="StepMetric"/> rows it sums up, so a downsampled
/// read of a long range reads one row per block instead of one per step, and its answers stay exact.
/// </summary>
public sealed class StepMetricBlock
{
    public int RunId { get; set; }

    public long Block { get; set; }

    /// <summary>The block's first stored step: a bucket's first step can be one.</summary>
    public long FirstStep { get; set; }

    public int Count { get; set; }

    public double Sum { get; set; }

    public double Min { get; set; }

    public double Max { get; set; }
}
