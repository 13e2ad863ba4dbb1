using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Policies;
using Dashboard.Runs.Contracts;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Runs.Checkpoints;

/// <summary>Reads of checkpoint rows: one, a run's newest or best, and which ones queued or running runs start from.</summary>
public sealed class CheckpointQueries(IDbContextFactory<DashboardDbContext> dbFactory)
{
    public async Task<CheckpointDto?> GetAsync(int checkpointId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var row = await db.Checkpoints.AsNoTracking().SingleOrDefaultAsync(c => c.Id == checkpointId, cancellationToken);
        return row is null ? null : CheckpointDto.From(row);
    }

    /// <summary>The newest durable checkpoint of a run; NotFound when the run or such a checkpoint does not exist.</summary>
    public async Task<ServiceResult<CheckpointDto>> LatestAsync(int runId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await db.Runs.AnyAsync(r => r.Id == runId, cancellationToken))
        {
            return ServiceResult<CheckpointDto>.NotFound($"There is no run {runId}.");
        }

        var row = await NewestDurableFirst(db, runId).FirstOrDefaultAsync(cancellationToken);
        return row is null ? ServiceResult<CheckpointDto>.NotFound($"Run {runId} has no durable checkpoint.") : new(CheckpointDto.From(row));
    }

    /// <summary>The durable checkpoint with the best value of <paramref name="monitor"/> (min or max).</summary>
    public async Task<ServiceResult<CheckpointDto>> BestAsync(int runId, string monitor, string mode, CancellationToken cancellationToken = default)
    {
        var errors = new Dictionary<string, string[]>();
        if (!MonitorMode.LoggedMetrics.Contains(monitor))
        {
            errors["monitor"] = [$"'{monitor}' is not a logged metric. Use one of: {string.Join(", ", MonitorMode.LoggedMetrics)}."];
        }

        if (!MonitorMode.All.Contains(mode))
        {
            errors["mode"] = [$"The mode must be one of: {string.Join(", ", MonitorMode.All)}."];
        }

        if (errors.Count > 0)
        {
            return ServiceResult<CheckpointDto>.Invalid(errors);
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await db.Runs.AnyAsync(r => r.Id == runId, cancellationToken))
        {
            return ServiceResult<CheckpointDto>.NotFound($"There is no run {runId}.");
        }

        var resolved = MonitorMode.Resolve(mode, monitor);
        var best = (await Durable(db, runId).ToListAsync(cancellationToken))
            .Select(CheckpointDto.From)
            .Where(c => c.Metrics.TryGetValue(monitor, out var v) && !double.IsNaN(v))
            .OrderBy(c => c.Metrics[monitor], Comparer<double>.Create((a, b) => MonitorMode.Compare(a, b, resolved)))
            .ThenByDescending(c => c.Step)
            .FirstOrDefault();
        return best is null ? ServiceResult<CheckpointDto>.NotFound($"Run {runId} has no durable checkpoint with {monitor}.") : new(best);
    }

    public async Task<string?> StatusOfAsync(int checkpointId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Checkpoints.Where(c => c.Id == checkpointId).Select(c => c.Status).SingleOrDefaultAsync(cancellationToken);
    }

    internal static IQueryable<Checkpoint> Durable(DashboardDbContext db, int runId) =>
        db.Checkpoints.Where(c => c.RunId == runId && c.Status == CheckpointStatus.Durable);

    /// <summary>
    /// The id of a run's newest durable checkpoint, null when it has none: where a resume continues the run itself, where an
    /// interrupted run picks up, and what a queued run's recorded start is compared with.
    /// </summary>
    internal static Task<int?> NewestDurableIdAsync(DashboardDbContext db, int runId, CancellationToken cancellationToken) =>
        NewestDurableFirst(db, runId).Select(c => (int?)c.Id).FirstOrDefaultAsync(cancellationToken);

    // Newest means furthest trained; of two at the same step (a manual one beside a periodic one) the later written.
    private static IQueryable<Checkpoint> NewestDurableFirst(DashboardDbContext db, int runId) =>
        Durable(db, runId).OrderByDescending(c => c.Step).ThenByDescending(c => c.Id);

    /// <summary>
    /// Checkpoints a queued or running run starts from: a branch's parent, and the start recorded when a run was queued
    /// (a resume of its own newest, an auto-resume after a crash) until the run has a newer durable checkpoint of its own.
    /// Without the second, the newest checkpoint of a run waiting to continue itself could go, and the run would start
    /// from an older one or from scratch.
    /// </summary>
    internal static async Task<HashSet<int>> InUseAsync(DashboardDbContext db, CancellationToken cancellationToken)
    {
        var starts = await db.Runs
            .Where(r => r.Status == RunStatus.Queued || r.Status == RunStatus.Running)
            .Select(r => new
            {
                r.ParentCheckpointId,
                r.StartCheckpointId,
                Superseded = db.Checkpoints.Any(c => c.RunId == r.Id && c.Id > r.StartCheckpointId && c.Status == CheckpointStatus.Durable),
            })
            .ToListAsync(cancellationToken);
        return
        [
            .. starts.Where(s => s.ParentCheckpointId is not null).Select(s => s.ParentCheckpointId!.Value),
            .. starts.Where(s => s.StartCheckpointId is not null && !s.Superseded).Select(s => s.StartCheckpointId!.Value),
        ];
    }
}
