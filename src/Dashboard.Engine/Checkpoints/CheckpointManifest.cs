using Dashboard.Engine.Configuration;
using Dashboard.Engine.Models;

namespace Dashboard.Engine.Checkpoints;

/// <summary>
/// <c>manifest.json</c> of a checkpoint folder: plain data, and the SHA-256 of every other file in the folder. Nothing in a
/// checkpoint is executable; loading one parses JSON and tensor bytes only.
/// </summary>
public sealed record CheckpointManifest
{
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;

    public required string Kind { get; init; }

    public required TrainingPosition Position { get; init; }

    public required IReadOnlyDictionary<string, double> Metrics { get; init; }

    public required TrainingConfig Config { get; init; }

    public required ModelSpec ModelSpec { get; init; }

    /// <summary>File name → lower-case hex SHA-256, for every file beside the manifest.</summary>
    public required IReadOnlyDictionary<string, string> Files { get; init; }

    public required TrainerState State { get; init; }

    /// <summary>Who wrote it and what it came from: set by the host that owns run and checkpoint ids.</summary>
    public CheckpointLineage? Lineage { get; init; }

    public required string TorchSharpVersion { get; init; }

    public required string RuntimeVersion { get; init; }

    public required DateTime CreatedAtUtc { get; init; }
}

/// <summary>Where a checkpoint sits in the run tree, and the data it was trained on.</summary>
/// <param name="DataSha256">
/// SHA-256 of the dataset file the run trained on when it started (see <see cref="Datasets.IDatasetSource.DataSha256"/>);
/// null for generated data, and in manifests written before it was recorded.
/// </param>
public sealed record CheckpointLineage(int RunId, int? ParentRunId, int? ParentCheckpointId, string? DataSha256 = null);
