using System.Text.Json;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Logging;
using Dashboard.Runs.Execution;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Runs.Management;

/// <summary>Conditions of the run list, combined with AND; null or empty ones do not filter.</summary>
/// <param name="Text">Text the run's name contains, case-insensitively (<c>?q=</c>).</param>
/// <param name="IncludeArchived">False (the default) hides archived runs; true lists them with the others.</param>
public sealed record RunFilter(
    string? Status = null,
    string? Dataset = null,
    string? Model = null,
    string? Tag = null,
    string? Text = null,
    bool IncludeArchived = false);

/// <summary>
/// What the API and the pages do with existing runs (queries, the list and its filters, rename/tags/notes/archive, stop);
/// both go through here so they behave alike. Runs are created and queued by <see cref="Launching.RunLauncher"/>.
/// </summary>
public sealed class RunService(
    IDbContextFactory<DashboardDbContext> dbFactory,
    RunQueue queue,
    RunLease lease,
    TrainingEventBroadcaster broadcaster,
    RunLog runLog)
{
    public const int MaxNameLength = 200;

    /// <summary>Runs per page of <see cref="ListPageAsync"/> when a caller pages without saying how many.</summary>
    public const int DefaultPageSize = 50;

    public const int MaxPageSize = 1000;

    /// <summary>Points of <see cref="StepsAsync"/> when a caller does not say; about a wide chart's width in pixels.</summary>
    public const int DefaultStepBuckets = 1000;

    /// <summary>The most points <see cref="StepsAsync"/> answers with, whatever a caller asks.</summary>
    public const int MaxStepBuckets = 5000;

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
            runLog.Info(runId, "Stop requested: the run stops after the current batch, saving a checkpoint.");
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
            runLog.Info(runId, "Stopped while queued, before it trained.");
            return new ServiceResult<RunDto>(RunDto.From(await db.Runs.AsNoTracking().SingleAsync(r => r.Id == runId, cancellationToken)), Status: 202);
        }

        // Training in another process (a worker, or another web instance's embedded one): asked through the database,
        // which that process reads with its lease heartbeat.
        if (queue.RequestStop(runId) || await lease.RequestStopAsync(runId, cancellationToken))
        {
            runLog.Info(runId, "Stop requested: the run stops after the current batch, saving a checkpoint.");
            return new ServiceResult<RunDto>(RunDto.From(run), Status: 202);
        }

        return ServiceResult<RunDto>.Conflict($"Run {runId} is {run.Status}, not running.");
    }

    /// <summary>
    /// "Checkpoint now": a training run writes a manual checkpoint after its current batch (announced once durable).
    /// Conflict when it is not training, since its newest checkpoint is then already its state.
    /// </summary>
    public async Task<ServiceResult<RunDto>> RequestCheckpointAsync(int runId, CancellationToken cancellationToken = default)
    {
        if (await GetAsync(runId, cancellationToken) is not { } run)
        {
            return ServiceResult<RunDto>.NotFound($"There is no run {runId}.");
        }

        return queue.RequestCheckpoint(runId) || await lease.RequestCheckpointAsync(runId, cancellationToken)
            ? new ServiceResult<RunDto>(run, Status: 202)
            : ServiceResult<RunDto>.Conflict($"Run {runId} is not training; its newest checkpoint is already its state.");
    }

    /// <summary>Changes the fields <paramref name="request"/> gives (name, tags, notes, archived) and answers the run.</summary>
    public async Task<ServiceResult<RunDto>> UpdateAsync(int runId, UpdateRunRequest request, CancellationToken cancellationToken = default)
    {
        var errors = RunUpdateRules.Validate(request);
        if (errors.Count > 0)
        {
            return ServiceResult<RunDto>.Invalid(errors);
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var run = await db.Runs.SingleOrDefaultAsync(r => r.Id == runId, cancellationToken);
        if (run is null)
        {
            return ServiceResult<RunDto>.NotFound($"There is no run {runId}.");
        }

        // Only these four columns: the executor writes status and progress to the same row while the run trains, and a
        // tracked save of the whole row must not put back values it read before the executor's last write.
        if (request.Name is { } name)
        {
            run.Name = name.Trim();
        }

        if (request.Tags is { } tags)
        {
            run.TagsJson = JsonSerializer.Serialize(tags, JsonDefaults.Options);
        }

        if (request.Notes is { } notes)
        {
            run.Notes = notes;
        }

        if (request.Archived is { } archived)
        {
            run.Archived = archived;
        }

        await db.SaveChangesAsync(cancellationToken);
        var updated = RunDto.From(await db.Runs.AsNoTracking().SingleAsync(r => r.Id == runId, cancellationToken));
        broadcaster.Publish(new RunUpdatedEvent(runId, updated));
        return new ServiceResult<RunDto>(updated);
    }

    /// <summary>
    /// Every run that passes <paramref name="filter"/> (by default: every run not archived), in <paramref name="order"/>
    /// (by default newest first).
    /// </summary>
    public async Task<IReadOnlyList<RunDto>> ListAsync(RunFilter? filter = null, RunOrder? order = null, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var runs = await (order ?? RunOrder.Default).Apply(Filtered(db, filter ?? new RunFilter()), DateTime.UtcNow, db.Database.IsPostgres()).ToListAsync(cancellationToken);
        return runs.ConvertAll(RunDto.From);
    }

    /// <summary>
    /// One page of the run list in <paramref name="order"/>: at most <paramref name="limit"/> runs passing
    /// <paramref name="filter"/> whose id is below <paramref name="before"/> (the last id of the previous page; null for the
    /// first page). <paramref name="before"/> needs the default order (see <see cref="RunOrder.PagesByIdCursor"/>).
    /// </summary>
    public async Task<IReadOnlyList<RunDto>> ListPageAsync(
        RunFilter filter, int limit, int? before, RunOrder? order = null, CancellationToken cancellationToken = default)
    {
        order ??= RunOrder.Default;
        if (before is not null && !order.PagesByIdCursor)
        {
            throw new ArgumentException("Paging by run id (before) only follows the default order, newest first.", nameof(before));
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var query = Filtered(db, filter);
        if (before is { } beforeId)
        {
            query = query.Where(r => r.Id < beforeId);
        }

        var runs = await order.Apply(query, DateTime.UtcNow, db.Database.IsPostgres()).Take(limit).ToListAsync(cancellationToken);
        return runs.ConvertAll(RunDto.From);
    }

    /// <summary>The runs passing every condition of <paramref name="filter"/> (AND), as one SQL query.</summary>
    private static IQueryable<Run> Filtered(DashboardDbContext db, RunFilter filter)
    {
        var query = db.Runs.AsNoTracking();
        if (!filter.IncludeArchived)
        {
            query = query.Where(r => !r.Archived);
        }

        if (!string.IsNullOrEmpty(filter.Status))
        {
            query = query.Where(r => r.Status == filter.Status);
        }

        if (!string.IsNullOrEmpty(filter.Dataset))
        {
            var dataset = filter.Dataset.Trim().ToLowerInvariant();
            query = query.Where(r => r.Dataset == dataset);
        }

        if (!string.IsNullOrEmpty(filter.Model))
        {
            var model = filter.Model.Trim().ToLowerInvariant();
            query = query.Where(r => r.Model == model);
        }

        if (!string.IsNullOrEmpty(filter.Tag))
        {
            // The quotes make it a whole-tag match inside the JSON array; tags cannot contain quotes or backslashes, so
            // the stored text holds each tag exactly as "tag". Contains becomes instr(), which has no wildcards.
            var quoted = $"\"{filter.Tag}\"";
            query = query.Where(r => r.TagsJson.Contains(quoted));
        }

        if (!string.IsNullOrEmpty(filter.Text))
        {
            // lower() on both sides: case-insensitive for ASCII, which is what SQLite's lower() folds (PostgreSQL's folds
            // more); Contains becomes instr() or strpos(), neither of which has wildcards.
            var text = filter.Text.ToLowerInvariant();
            query = query.Where(r => r.Name.ToLower().Contains(text));
        }

        return query;
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
