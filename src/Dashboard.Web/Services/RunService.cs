using System.Text.Json;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Training;
using Dashboard.Web.Contracts;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Web.Services;

/// <summary>The outcome of a request that may be refused: the value, field errors, or a status with a reason.</summary>
public sealed record ServiceResult<T>(T? Value, IReadOnlyDictionary<string, string[]>? Errors = null, int Status = 200, string? Problem = null)
{
    public bool Succeeded => Errors is null && Problem is null;

    public static ServiceResult<T> Invalid(IReadOnlyDictionary<string, string[]> errors) => new(default, errors, 400);

    public static ServiceResult<T> NotFound(string problem) => new(default, null, 404, problem);

    public static ServiceResult<T> Conflict(string problem) => new(default, null, 409, problem);
}

/// <summary>What the API and the pages do with runs; both go through here so they behave alike.</summary>
public sealed class RunService(
    IDbContextFactory<DashboardDbContext> dbFactory,
    TrainingConfigValidator validator,
    RunQueue queue,
    TrainingEventBroadcaster broadcaster)
{
    public const int MaxNameLength = 200;

    /// <summary>Runs per page of <see cref="ListPageAsync"/> when a caller pages without saying how many.</summary>
    public const int DefaultPageSize = 50;

    public const int MaxPageSize = 1000;

    /// <summary>Points of <see cref="StepsAsync"/> when a caller does not say; about a wide chart's width in pixels.</summary>
    public const int DefaultStepBuckets = 1000;

    /// <summary>The most points <see cref="StepsAsync"/> answers with, whatever a caller asks.</summary>
    public const int MaxStepBuckets = 5000;

    public async Task<ServiceResult<RunDto>> CreateAsync(CreateRunRequest request, CancellationToken cancellationToken = default)
    {
        var config = request.ToConfig();
        var errors = validator.Validate(config).ToDictionary();
        var name = request.Name?.Trim();
        if (name is { Length: > MaxNameLength })
        {
            errors["name"] = [$"The name may have at most {MaxNameLength} characters."];
        }

        if (request.ClassFilter is not null)
        {
            errors["classFilter"] = ["A class filter is a fine-tune setting: POST /api/checkpoints/{id}/finetune with datasetFilter."];
        }

        if (request.FineTune is not null)
        {
            errors["fineTune"] = ["Fine-tunes start from a checkpoint: POST /api/checkpoints/{id}/finetune."];
        }

        if (errors.Count > 0)
        {
            return ServiceResult<RunDto>.Invalid(errors);
        }

        var now = DateTime.UtcNow;
        var run = new Run
        {
            Name = string.IsNullOrEmpty(name) ? $"{config.Model}-{config.Dataset}-{now:yyyyMMdd-HHmmss}" : name,
            Status = RunStatus.Queued,
            Dataset = config.Dataset,
            Model = config.Model,
            Epochs = config.Epochs,
            ConfigJson = JsonSerializer.Serialize(config, JsonDefaults.Options),
            CreatedAt = now,
        };
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            db.Runs.Add(run);
            await db.SaveChangesAsync(cancellationToken);
        }

        broadcaster.Publish(new RunStatusChangedEvent(run.Id, run.Status));
        queue.Enqueue(run.Id);
        return new ServiceResult<RunDto>(RunDto.From(run), Status: 201);
    }

    public async Task<ServiceResult<RunDto>> StopAsync(int runId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var run = await db.Runs.SingleOrDefaultAsync(r => r.Id == runId, cancellationToken);
        if (run is null)
        {
            return ServiceResult<RunDto>.NotFound($"There is no run {runId}.");
        }

        if (queue.RequestStop(runId))
        {
            return new ServiceResult<RunDto>(RunDto.From(run), Status: 202);
        }

        // Not on a thread yet: only a row still queued is stopped, so a run the executor claimed a moment ago is asked to
        // stop instead, never marked stopped while it trains.
        var now = DateTime.UtcNow;
        var claimed = await db.Runs
            .Where(r => r.Id == runId && r.Status == RunStatus.Queued)
            .ExecuteUpdateAsync(u => u.SetProperty(r => r.Status, RunStatus.Stopped).SetProperty(r => r.FinishedAt, now), cancellationToken);
        if (claimed == 1)
        {
            broadcaster.Publish(new RunStatusChangedEvent(runId, RunStatus.Stopped));
            return new ServiceResult<RunDto>(RunDto.From(await db.Runs.AsNoTracking().SingleAsync(r => r.Id == runId, cancellationToken)), Status: 202);
        }

        if (queue.RequestStop(runId))
        {
            return new ServiceResult<RunDto>(RunDto.From(run), Status: 202);
        }

        return ServiceResult<RunDto>.Conflict($"Run {runId} is {run.Status}, not running.");
    }

    public async Task<IReadOnlyList<RunDto>> ListAsync(string? status = null, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var query = db.Runs.AsNoTracking();
        if (!string.IsNullOrEmpty(status))
        {
            query = query.Where(r => r.Status == status);
        }

        var runs = await query.OrderByDescending(r => r.Id).ToListAsync(cancellationToken);
        return runs.ConvertAll(RunDto.From);
    }

    /// <summary>
    /// One page of the run list, newest first: at most <paramref name="limit"/> runs whose id is below
    /// <paramref name="before"/> (the last id of the previous page; null for the first page).
    /// </summary>
    public async Task<IReadOnlyList<RunDto>> ListPageAsync(string? status, int limit, int? before, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var query = db.Runs.AsNoTracking();
        if (!string.IsNullOrEmpty(status))
        {
            query = query.Where(r => r.Status == status);
        }

        if (before is { } beforeId)
        {
            query = query.Where(r => r.Id < beforeId);
        }

        var runs = await query.OrderByDescending(r => r.Id).Take(limit).ToListAsync(cancellationToken);
        return runs.ConvertAll(RunDto.From);
    }

    public async Task<RunDto?> GetAsync(int runId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var run = await db.Runs.AsNoTracking().SingleOrDefaultAsync(r => r.Id == runId, cancellationToken);
        return run is null ? null : RunDto.From(run);
    }

    /// <summary>Runs started from this run's checkpoints (branches and fine-tunes), oldest first.</summary>
    public async Task<IReadOnlyList<RunDto>> ChildrenAsync(int runId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var runs = await db.Runs.AsNoTracking().Where(r => r.ParentRunId == runId).OrderBy(r => r.Id).ToListAsync(cancellationToken);
        return runs.ConvertAll(RunDto.From);
    }

    /// <summary>The run's metrics in epoch order, or null when there is no such run.</summary>
    public async Task<IReadOnlyList<MetricDto>?> MetricsAsync(int runId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await db.Runs.AnyAsync(r => r.Id == runId, cancellationToken))
        {
            return null;
        }

        var rows = await db.EpochMetrics.AsNoTracking().Where(m => m.RunId == runId).OrderBy(m => m.Epoch).ToListAsync(cancellationToken);
        return rows.ConvertAll(MetricDto.From);
    }

    /// <summary>
    /// The run's per-step training loss for steps in [<paramref name="from"/>, <paramref name="to"/>], at most
    /// <paramref name="buckets"/> points (exact buckets, summed by <see cref="StepMetricStore"/> from the stored steps
    /// and their roll-up), or null when there is no such run.
    /// </summary>
    public async Task<StepSeriesDto?> StepsAsync(int runId, long from, long to, int buckets, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await db.Runs.AnyAsync(r => r.Id == runId, cancellationToken))
        {
            return null;
        }

        var series = await StepMetricStore.QueryAsync(db, runId, from, to, buckets, cancellationToken);
        return new StepSeriesDto(runId, series.First, series.Last, series.Total, buckets, series.Downsampled, [.. series.Points.Select(StepPointDto.From)]);
    }

    /// <summary>The run's checkpoints oldest first, or null when there is no such run.</summary>
    public async Task<IReadOnlyList<CheckpointDto>?> CheckpointsAsync(int runId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await db.Runs.AnyAsync(r => r.Id == runId, cancellationToken))
        {
            return null;
        }

        var rows = await db.Checkpoints.AsNoTracking().Where(c => c.RunId == runId).OrderBy(c => c.Step).ThenBy(c => c.Id).ToListAsync(cancellationToken);
        return rows.ConvertAll(CheckpointDto.From);
    }
}
