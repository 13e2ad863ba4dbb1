using System.Text.Json.Serialization;
using Dashboard.Data;
using Dashboard.Data.Entities;

namespace Dashboard.Runs.Contracts;

/// <summary>One epoch's metrics: a row of <c>/metrics</c> and the payload of the hub's <c>EpochCompleted</c>.</summary>
/// <param name="CreatedAt">When the engine reported the epoch (UTC); lets a client measure how late a live point arrives.</param>
/// <param name="Mae">Regression runs only (absent from a classification run's JSON): training mean absolute error.</param>
/// <param name="ValMae">Regression runs only: validation mean absolute error.</param>
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
    DateTime? CreatedAt = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Mae = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? ValMae = null)
{
    public static MetricDto From(EpochMetric m) =>
        new(m.Epoch, m.Step, m.Loss, m.ValLoss, m.Accuracy, m.ValAccuracy, m.LearningRate, m.DurationMs, m.SamplesPerSecond,
            DateTime.SpecifyKind(m.CreatedAt, DateTimeKind.Utc), m.Mae, m.ValMae);
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
