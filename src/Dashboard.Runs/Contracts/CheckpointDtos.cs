using System.Text.Json;
using System.Text.Json.Serialization;
using Dashboard.Data.Entities;

namespace Dashboard.Runs.Contracts;

/// <summary>A checkpoint: a row of <c>/checkpoints</c> and the payload of the hub's <c>CheckpointSaved</c>.</summary>
public sealed record CheckpointDto(
    int Id,
    int RunId,
    int Epoch,
    long Step,
    IReadOnlyDictionary<string, double> Metrics,
    long SizeBytes,
    string Sha256,
    string Kind,
    bool Pinned,
    string Status,
    DateTime CreatedAt)
{
    public static CheckpointDto From(Checkpoint c) => new(
        c.Id,
        c.RunId,
        c.Epoch,
        c.Step,
        JsonSerializer.Deserialize<Dictionary<string, double>>(c.MetricsJson, JsonDefaults.Options) ?? [],
        c.SizeBytes,
        c.Sha256,
        c.Kind,
        c.Pinned,
        c.Status,
        DateTime.SpecifyKind(c.CreatedAt, DateTimeKind.Utc));

    /// <summary>Offered for actions. Not in the JSON (nor the hub's messages): clients have <c>status</c>.</summary>
    [JsonIgnore]
    public bool IsDurable => Status == CheckpointStatus.Durable;

    /// <summary>Still being written: not yet a checkpoint anyone can see or use.</summary>
    [JsonIgnore]
    public bool IsWriting => Status == CheckpointStatus.Writing;

    /// <summary>Its files were not found; a re-audit may bring it back.</summary>
    [JsonIgnore]
    public bool IsMissing => Status == CheckpointStatus.Missing;
}

/// <summary>A checkpoint folder on disk with no row: <c>GET /api/checkpoints/orphans</c>.</summary>
public sealed record OrphanDto(string Sha256, int? RunId, int Epoch, long Step, string Kind, DateTime CreatedAt);
