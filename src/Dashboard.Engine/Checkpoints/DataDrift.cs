namespace Dashboard.Engine.Checkpoints;

/// <summary>
/// Whether a run starting from a checkpoint trains on the same data the checkpoint was trained on: the checkpoint's
/// lineage holds the dataset file's SHA-256 from when it was trained, the dataset gives its hash now.
/// </summary>
public static class DataDrift
{
    /// <summary>
    /// A warning for the run's log when <paramref name="dataset"/> is the checkpoint's dataset and its file differs now;
    /// null when it is the same, when the run trains on another dataset (a fine-tune may switch), or when the checkpoint
    /// predates the record (nothing to compare honestly).
    /// </summary>
    public static string? Warning(CheckpointManifest start, int? checkpointId, string dataset, string? currentSha256)
    {
        if (start.Lineage?.DataSha256 is not { } trained
            || !string.Equals(start.Config.Dataset, dataset, StringComparison.OrdinalIgnoreCase)
            || string.Equals(trained, currentSha256, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var now = currentSha256 is null ? "its file cannot be read now" : $"SHA-256 {Short(currentSha256)} now";
        return $"Dataset '{dataset}' is not the data checkpoint #{checkpointId} was trained on (SHA-256 {Short(trained)} then, {now}); "
            + "its metrics are not comparable with the ones before.";
    }

    private static string Short(string sha256) => sha256.Length > 12 ? sha256[..12] + "…" : sha256;
}
