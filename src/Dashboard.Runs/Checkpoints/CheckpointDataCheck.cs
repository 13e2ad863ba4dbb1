using Dashboard.Data;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Datasets;
using Dashboard.Runs.Contracts;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Runs.Checkpoints;

/// <summary>
/// The data a checkpoint was trained on against the dataset as it is now, for the run page's checkpoint panel.
/// </summary>
/// <param name="Dataset">The dataset the checkpoint's run trained on.</param>
/// <param name="TrainedSha256">The dataset file's SHA-256 recorded in the checkpoint; null for generated data and older checkpoints.</param>
/// <param name="CurrentSha256">The dataset file's SHA-256 now; null when it has no file or cannot be read.</param>
/// <param name="Warning">Set when resuming would train on other data: the same text the run log warns with.</param>
public sealed record CheckpointDataDto(string Dataset, string? TrainedSha256, string? CurrentSha256, string? Warning);

/// <summary>Reads a checkpoint's recorded data hash and judges drift with <see cref="DataDrift"/>, the run log's one rule.</summary>
public sealed class CheckpointDataCheck(IDbContextFactory<DashboardDbContext> dbFactory, CheckpointStore store, DatasetRegistry datasets)
{
    public async Task<ServiceResult<CheckpointDataDto>> GetAsync(int checkpointId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var path = await db.Checkpoints.AsNoTracking().Where(c => c.Id == checkpointId).Select(c => c.Path).SingleOrDefaultAsync(cancellationToken);
        if (path is null)
        {
            return ServiceResult<CheckpointDataDto>.NotFound($"There is no checkpoint {checkpointId}.");
        }

        // Hashing a dataset file and reading a manifest are file work: off the caller's thread.
        return await Task.Run(() =>
        {
            if (store.TryReadManifest(path) is not { } stored)
            {
                return ServiceResult<CheckpointDataDto>.Conflict($"The manifest of checkpoint {checkpointId} cannot be read.");
            }

            var dataset = stored.Manifest.Config.Dataset;
            var current = datasets.TryGet(dataset, out var source) ? source.DataSha256() : null;
            return new ServiceResult<CheckpointDataDto>(new CheckpointDataDto(
                dataset, stored.Manifest.Lineage?.DataSha256, current, DataDrift.Warning(stored.Manifest, checkpointId, dataset, current)));
        }, cancellationToken);
    }
}
