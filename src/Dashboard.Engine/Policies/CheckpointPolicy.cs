namespace Dashboard.Engine.Policies;

/// <summary>
/// When checkpoints are written and which are kept (the run's <c>checkpoint</c> object). Keras and Lightning users will
/// recognise <c>ModelCheckpoint</c>'s monitor, mode, save_best_only, save_top_k, save_last and every_n_epochs.
/// A checkpoint is always written at the end of a run and when it is stopped.
/// </summary>
public sealed record CheckpointPolicy
{
    /// <summary>Write one after every N-th epoch; null or 0 for none (best, last and stop still write).</summary>
    public int? EveryEpochs { get; init; } = 1;

    /// <summary>Also write one every N optimizer steps, mid-epoch if need be.</summary>
    public int? EverySteps { get; init; }

    /// <summary>Also write one when this many minutes passed since the last.</summary>
    public double? EveryMinutes { get; init; }

    public string Monitor { get; init; } = "valLoss";

    public string Mode { get; init; } = MonitorMode.Auto;

    /// <summary>How much the monitor must improve to count as better.</summary>
    public double MinDelta { get; init; }

    /// <summary>
    /// At epoch ends, write only when the monitor improved. Step, time and manual checkpoints are still written, also when
    /// they fall on an epoch's last batch and are served by its epoch-end checkpoint.
    /// </summary>
    public bool SaveBestOnly { get; init; }

    /// <summary>Keep the K best by the monitor; null keeps all.</summary>
    public int? KeepTopK { get; init; }

    /// <summary>Keep the N newest; null keeps all.</summary>
    public int? KeepLast { get; init; }

    /// <summary>Keep the checkpoint of every K-th epoch forever, whatever else says.</summary>
    public int? KeepEveryEpochs { get; init; }

    /// <summary>Bytes of checkpoints a run may hold; over it the worst unpinned ones go first.</summary>
    public long? MaxBytes { get; init; }

    /// <summary>Folder name of each checkpoint; fields in braces with Python-style formats, e.g. {epoch:03d}, {valLoss:.4f}.</summary>
    public string FileNameTemplate { get; init; } = "epoch{epoch:03d}-valLoss{valLoss:.4f}";

    public string ResolvedMode => MonitorMode.Resolve(Mode, Monitor);
}
