using Dashboard.Data;
using Dashboard.Engine.Configuration;
using Dashboard.Runs.Contracts;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Runs.Management;

/// <summary>
/// A run's config against its parent's: what a resume-branch or fine-tune changed. A run from uploaded weights has no
/// parent config; its changes are what it started from, the <c>initialWeights</c> settings, against nothing.
/// </summary>
public sealed class RunConfigDiffs(IDbContextFactory<DashboardDbContext> dbFactory)
{
    public async Task<ServiceResult<IReadOnlyList<ConfigChangeDto>>> GetAsync(int runId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var run = await db.Runs.AsNoTracking().Where(r => r.Id == runId).Select(r => new { r.ParentRunId, r.ConfigJson }).SingleOrDefaultAsync(cancellationToken);
        if (run is null)
        {
            return ServiceResult<IReadOnlyList<ConfigChangeDto>>.NotFound($"There is no run {runId}.");
        }

        var config = RunConfigCodec.ReadOrDefault(run.ConfigJson);
        if (run.ParentRunId is { } parentId
            && await db.Runs.AsNoTracking().Where(r => r.Id == parentId).Select(r => r.ConfigJson).SingleOrDefaultAsync(cancellationToken) is { } parentJson)
        {
            return new(ConfigDiff.Between(RunConfigCodec.ReadOrDefault(parentJson), config));
        }

        if (config.InitialWeights is not null)
        {
            return new([.. ConfigDiff.Between(null, config).Where(c => c.Path.StartsWith("initialWeights.", StringComparison.Ordinal))]);
        }

        return ServiceResult<IReadOnlyList<ConfigChangeDto>>.NotFound($"Run {runId} has no parent run and no initial weights; there is nothing to compare it with.");
    }

    /// <summary>Whether <paramref name="config"/>'s run has something to be compared with (the run page shows the section then).</summary>
    public static bool HasOrigin(int? parentRunId, TrainingConfig? config) => parentRunId is not null || config?.InitialWeights is not null;
}
