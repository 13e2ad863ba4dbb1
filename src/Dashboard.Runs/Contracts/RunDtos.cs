using System.Text.Json;
using System.Text.Json.Serialization;
using Dashboard.Data.Entities;
using Dashboard.Engine.Configuration;

namespace Dashboard.Runs.Contracts;

/// <summary>A run as <c>GET /api/runs/{id}</c> answers it.</summary>
public sealed record RunDto(
    int Id,
    string Name,
    string Status,
    string Dataset,
    string Model,
    int Epochs,
    int CurrentEpoch,
    int? ParentRunId,
    int? ParentCheckpointId,
    string Device,
    TrainingConfig Config,
    double? BestValLoss,
    int? BestValLossEpoch,
    string? Error,
    DateTime CreatedAt,
    DateTime? StartedAt,
    DateTime? FinishedAt,
    int? ResumedFromCheckpointId = null,
    long StartStep = 0,
    IReadOnlyList<string>? Tags = null,
    string Notes = "",
    bool Archived = false,
    string Queue = "default",
    string? Worker = null)
{
    public static RunDto From(Run run) => new(
        run.Id,
        run.Name,
        run.Status,
        run.Dataset,
        run.Model,
        run.Epochs,
        run.CurrentEpoch,
        run.ParentRunId,
        run.ParentCheckpointId,
        run.Device,
        RunConfigCodec.ReadOrDefault(run.ConfigJson),
        run.BestValLoss,
        run.BestValLossEpoch,
        run.Error,
        DateTime.SpecifyKind(run.CreatedAt, DateTimeKind.Utc),
        Utc(run.StartedAt),
        Utc(run.FinishedAt),
        run.ResumedFromCheckpointId,
        run.StartStep,
        JsonSerializer.Deserialize<string[]>(run.TagsJson, JsonDefaults.Options) ?? [],
        run.Notes,
        run.Archived,
        run.Queue,
        run.Worker);

    /// <summary>Queued or training. Not in the JSON: clients have <c>status</c>; this spares pages the status names.</summary>
    [JsonIgnore]
    public bool IsActive => RunStatus.IsActive(Status);

    [JsonIgnore]
    public bool IsRunning => Status == RunStatus.Running;

    private static DateTime? Utc(DateTime? value) => value is { } v ? DateTime.SpecifyKind(v, DateTimeKind.Utc) : null;
}

/// <summary>Answer of resume and fine-tune: the run that will train.</summary>
public sealed record RunStartedDto(int RunId);
