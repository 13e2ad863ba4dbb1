using System.Text.Json;
using System.Text.Json.Serialization;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Policies;

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
    bool Archived = false)
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
        JsonSerializer.Deserialize<TrainingConfig>(run.ConfigJson, JsonDefaults.Options) ?? new TrainingConfig(),
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
        run.Archived);

    /// <summary>Queued or training. Not in the JSON: clients have <c>status</c>; this spares pages the status names.</summary>
    [JsonIgnore]
    public bool IsActive => RunStatus.IsActive(Status);

    [JsonIgnore]
    public bool IsRunning => Status == RunStatus.Running;

    private static DateTime? Utc(DateTime? value) => value is { } v ? DateTime.SpecifyKind(v, DateTimeKind.Utc) : null;
}

/// <summary>One epoch's metrics: a row of <c>/metrics</c> and the payload of the hub's <c>EpochCompleted</c>.</summary>
/// <param name="CreatedAt">When the engine reported the epoch (UTC); lets a client measure how late a live point arrives.</param>
public sealed record MetricDto(
    int Epoch,
    long Step,
    double Loss,
    double ValLoss,
    double? Accuracy,
    double? ValAccuracy,
    double LearningRate,
    double DurationMs,
    double SamplesPerSecond,
    DateTime? CreatedAt = null)
{
    public static MetricDto From(EpochMetric m) =>
        new(m.Epoch, m.Step, m.Loss, m.ValLoss, m.Accuracy, m.ValAccuracy, m.LearningRate, m.DurationMs, m.SamplesPerSecond,
            DateTime.SpecifyKind(m.CreatedAt, DateTimeKind.Utc));
}

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

    /// <summary>Its files were not found; a re-audit may bring it back.</summary>
    [JsonIgnore]
    public bool IsMissing => Status == CheckpointStatus.Missing;
}

/// <summary>Where the current epoch of a running run stands (hub event <c>EpochProgress</c>).</summary>
/// <param name="Step">Optimizer steps taken so far in the run, this batch's included.</param>
/// <param name="Steps">
/// The training loss of the steps since the previous report, as one bucket of <c>/steps</c>: a live chart extends its
/// per-step curve from these without asking. They are stored before the report is sent.
/// </param>
public sealed record ProgressDto(
    int Epoch,
    int Epochs,
    int Batch,
    int BatchCount,
    double SamplesPerSecond,
    double EtaSeconds,
    long? Step = null,
    StepPointDto? Steps = null);

/// <summary>
/// A point of <c>GET /api/runs/{id}/steps</c>. Raw, one step: <c>loss = min = max</c>, <c>count = 1</c>. Downsampled, one
/// bucket of steps: its first step, the mean, lowest and highest loss of its <c>count</c> steps, so spikes survive.
/// </summary>
public sealed record StepPointDto(long Step, double Loss, double Min, double Max, int Count)
{
    public static StepPointDto From(StepPoint p) => new(p.Step, p.Loss, p.Min, p.Max, p.Count);
}

/// <summary>Answer of <c>GET /api/runs/{id}/steps</c>: a run's per-step training loss over a range of steps.</summary>
/// <param name="From">The first stored step in the asked range (null when none is).</param>
/// <param name="To">The last stored step in the asked range (null when none is).</param>
/// <param name="Total">How many steps are stored in the range; the points stand for all of them.</param>
/// <param name="Buckets">The most points asked for; the range was cut into this many buckets when downsampled.</param>
/// <param name="Downsampled">True when each point is a bucket of steps rather than one step.</param>
public sealed record StepSeriesDto(int RunId, long? From, long? To, long Total, int Buckets, bool Downsampled, IReadOnlyList<StepPointDto> Points);

/// <summary>Body of <c>POST /api/runs</c>. Omitted fields take the defaults the New-run form shows.</summary>
public sealed record CreateRunRequest
{
    public string? Name { get; init; }

    public string? Dataset { get; init; }

    public string? Model { get; init; }

    public int? Epochs { get; init; }

    public int? BatchSize { get; init; }

    public double? LearningRate { get; init; }

    public string? Optimizer { get; init; }

    public long? Seed { get; init; }

    public double? ValidationSplit { get; init; }

    public int? SampleLimit { get; init; }

    public CheckpointPolicy? Checkpoint { get; init; }

    public ScheduleConfig? Schedule { get; init; }

    public EarlyStoppingConfig? EarlyStopping { get; init; }

    /// <summary>
    /// Named only so that a run's <c>config</c> from <c>GET /api/runs/{id}</c> can be posted back as it is (unknown fields
    /// are refused); it must be null, since a class filter is a fine-tune setting.
    /// </summary>
    public IReadOnlyList<int>? ClassFilter { get; init; }

    /// <summary>As <see cref="ClassFilter"/>: must be null; fine-tunes start from a checkpoint.</summary>
    public FineTuneSettings? FineTune { get; init; }

    public TrainingConfig ToConfig()
    {
        var defaults = new TrainingConfig();
        return new TrainingConfig
        {
            Dataset = Dataset?.Trim().ToLowerInvariant() ?? defaults.Dataset,
            Model = Model?.Trim().ToLowerInvariant() ?? defaults.Model,
            Epochs = Epochs ?? defaults.Epochs,
            BatchSize = BatchSize ?? defaults.BatchSize,
            LearningRate = LearningRate ?? defaults.LearningRate,
            Optimizer = Optimizer?.Trim().ToLowerInvariant() ?? defaults.Optimizer,
            Seed = Seed ?? defaults.Seed,
            ValidationSplit = ValidationSplit ?? defaults.ValidationSplit,
            SampleLimit = SampleLimit,
            Checkpoint = Checkpoint ?? defaults.Checkpoint,
            Schedule = Schedule,
            EarlyStopping = EarlyStopping,
        };
    }
}

/// <summary>Body of <c>PATCH /api/runs/{id}</c>: only the fields given change; tags, when given, replace the old ones.</summary>
public sealed record UpdateRunRequest
{
    public string? Name { get; init; }

    public IReadOnlyList<string>? Tags { get; init; }

    public string? Notes { get; init; }

    public bool? Archived { get; init; }
}

/// <summary>Body of <c>POST /api/checkpoints/{id}/resume</c>: the total epochs to reach (default: the run's own).</summary>
public sealed record ResumeRequest(int? Epochs);

/// <summary>
/// Body of <c>POST /api/checkpoints/{id}/finetune</c>: what changes against the checkpoint's run. <c>epochs</c> counts the
/// fine-tuning epochs; the child run starts at epoch 1 from the checkpoint's weights.
/// </summary>
public sealed record FineTuneRequest
{
    public string? Name { get; init; }

    public int? Epochs { get; init; }

    public double? LearningRate { get; init; }

    public string? Optimizer { get; init; }

    public bool? ResetOptimizer { get; init; }

    public IReadOnlyList<string>? Freeze { get; init; }

    public string? Dataset { get; init; }

    /// <summary>Class labels to keep, e.g. [0, 1, 2, 3, 4].</summary>
    public IReadOnlyList<int>? DatasetFilter { get; init; }

    public int? BatchSize { get; init; }

    public ScheduleConfig? Schedule { get; init; }

    public EarlyStoppingConfig? EarlyStopping { get; init; }
}

/// <summary>Answer of resume and fine-tune: the run that will train.</summary>
public sealed record RunStartedDto(int RunId);

public static class JsonDefaults
{
    /// <summary>camelCase; NaN and infinities pass as strings, since a diverged run logs them.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}

/// <summary>Body of <c>POST /api/checkpoints/{id}/predict</c>: one sample; for MNIST 784 pixels in [0, 1], row by row.</summary>
public sealed record PredictRequest(float[]? Input);

public sealed record PredictionDto(int Predicted, IReadOnlyList<double> Probabilities);

/// <summary>A checkpoint folder on disk with no row: <c>GET /api/checkpoints/orphans</c>.</summary>
public sealed record OrphanDto(string Sha256, int? RunId, int Epoch, long Step, string Kind, DateTime CreatedAt);
