using Dashboard.Data;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Runs.Monitoring;

/// <summary>Reads a run's stored system samples for the API and the run page.</summary>
public sealed class SystemSampleQueries(IDbContextFactory<DashboardDbContext> dbFactory)
{
    /// <summary>The run's samples, oldest first; null when there is no such run.</summary>
    public async Task<IReadOnlyList<Contracts.SystemSampleDto>?> ListAsync(int runId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await db.Runs.AnyAsync(r => r.Id == runId, cancellationToken))
        {
            return null;
        }

        var rows = await db.RunSystemSamples.AsNoTracking()
            .Where(s => s.RunId == runId)
            .OrderBy(s => s.Time)
            .ThenBy(s => s.Id)
            .ToListAsync(cancellationToken);
        return [.. rows.Select(Contracts.SystemSampleDto.From)];
    }
}
