using System.Text.Json;
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
}

/// <summary>A checkpoint folder on disk with no row: <c>GET /api/checkpoints/orphans</c>.</summary>
public sealed record OrphanDto(string Sha256, int? RunId, int Epoch, long Step, string Kind, DateTime CreatedAt);
