using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Export;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Launching;
using Microsoft.EntityFrameworkCore;
using Dashboard.Engine.Policies;

namespace Dashboard.Runs.Imports;

/// <summary>
/// Turns an uploaded bundle into a completed run with one durable checkpoint, ready to evaluate or fine-tune: it reads
/// and checks the bundle and writes the checkpoint; the run itself is created and announced by <see cref="RunLauncher"/>.
/// </summary>
public sealed class ImportService(
    IDbContextFactory<DashboardDbContext> dbFactory,
    BundleImporter importer,
    UploadSpool spool,
    CheckpointStore store,
    DatasetRegistry datasets,
    TrainingConfigValidator validator,
    RunLauncher launcher,
    ILogger<ImportService> logger)
{
    /// <summary>Uploads larger than this are refused: by their declared length before reading, else as soon as they pass it.</summary>
    public const long MaxUploadBytes = 256L * 1024 * 1024;

    /// <summary>
    /// Copies an upload to a temporary file of the data folder, which the returned stream deletes when disposed: the zip
    /// reader needs to seek, and holding the upload in memory instead would let a few concurrent ones take gigabytes.
    /// </summary>
    /// <exception cref="UploadTooLargeException">More than <see cref="MaxUploadBytes"/> arrived; reading stopped there.</exception>
    /// <exception cref="UploadStorageFullException">No room to hold it.</exception>
    public async Task<FileStream> SpoolAsync(Stream upload, CancellationToken cancellationToken = default)
    {
        try
        {
            return await spool.WriteAsync(upload, MaxUploadBytes, cancellationToken);
        }
        catch (UploadStorageFullException e)
        {
            logger.LogWarning(e.InnerException, "An upload could not be held in {Folder}: the disk is full.", spool.Folder);
            throw;
        }
    }

    /// <summary>
    /// Spools an upload and imports it, with the spool's refusals as answers rather than exceptions: 413 past
    /// <see cref="MaxUploadBytes"/>, 507 when there is no room to hold it. A broken-off upload still throws its IOException.
    /// </summary>
    public async Task<ServiceResult<RunStartedDto>> ImportUploadAsync(Stream upload, string fileName, CancellationToken cancellationToken = default)
    {
        FileStream bundle;
        try
        {
            bundle = await SpoolAsync(upload, cancellationToken);
        }
        catch (UploadTooLargeException)
        {
            return new(null, null, 413, $"Bundles may be at most {MaxUploadBytes / (1024 * 1024)} MiB.");
        }
        catch (UploadStorageFullException e)
        {
            return new(null, null, ServiceStatus.InsufficientStorage, e.Message);
        }

        await using (bundle)
        {
            return await ImportAsync(bundle, fileName, cancellationToken);
        }
    }

    /// <summary>
    /// Checking a bundle builds its model and holds its weights (up to hundreds of megabytes); more than this many at once
    /// are answered 429 rather than let memory grow with the number of clients.
    /// </summary>
    public const int MaxConcurrentImports = 2;

    private readonly SemaphoreSlim _slots = new(MaxConcurrentImports, MaxConcurrentImports);

    /// <summary>A slot for one import, released when disposed, or null when <see cref="MaxConcurrentImports"/> are under way.</summary>
    public IDisposable? TryBeginImport() => _slots.Wait(0) ? new Slot(_slots) : null;

    /// <summary>
    /// Checks the bundle and, if it passes, stores it as a completed run with one durable checkpoint. The request's abort
    /// token may cancel the checks; once the store is touched the import finishes or undoes itself whatever the client does,
    /// so a disconnect never leaves a run without its checkpoint or a folder without its run.
    /// </summary>
    public async Task<ServiceResult<RunStartedDto>> ImportAsync(Stream bundle, string fileName, CancellationToken cancellationToken = default)
    {
        ImportedBundle imported;
        try
        {
            imported = await Task.Run(() => importer.Read(bundle), cancellationToken);
        }
        catch (BundleRejectedException e)
        {
            return ServiceResult<RunStartedDto>.Invalid(new Dictionary<string, string[]> { ["file"] = [e.Message] });
        }
        catch (UploadStorageFullException e)
        {
            logger.LogWarning(e.InnerException, "A bundle could not be unpacked: the disk is full.");
            return new(default, Status: ServiceStatus.InsufficientStorage, Problem: e.Message);
        }

        var config = imported.Config;
        if (!datasets.TryGet(config.Dataset, out var source)
            || !source.Info.SampleShape.SequenceEqual(imported.ModelSpec.InputShape)
            || source.Info.ClassCount != imported.ModelSpec.ClassCount)
        {
            var known = string.Join(", ", datasets.All.Select(d => $"{d.Name} [{string.Join(", ", d.SampleShape)}] × {d.ClassCount}"));
            return ServiceResult<RunStartedDto>.Invalid(new Dictionary<string, string[]>
            {
                ["file"] = [$"The model takes [{string.Join(", ", imported.ModelSpec.InputShape)}] in {imported.ModelSpec.ClassCount} classes and names dataset '{config.Dataset}'; it must fit one of: {known}."],
            });
        }

        // The run will be resumed and fine-tuned with this config, so it must pass what a new run's body must pass.
        var problems = validator.Validate(config with { Epochs = Math.Max(1, config.Epochs) });
        if (problems.Count > 0)
        {
            return ServiceResult<RunStartedDto>.Invalid(new Dictionary<string, string[]>
            {
                ["file"] = [.. problems.SelectMany(p => p.Value.Select(m => $"config.json: {p.Key}: {m}"))],
            });
        }

        // Last chance for an abandoned request to cost nothing; from here on the request's token is not used.
        cancellationToken.ThrowIfCancellationRequested();
        return await StoreAsync(imported, source.Info.Name, fileName);
    }

    /// <summary>The run row, the checkpoint folder and its row: all three or none, whatever fails along the way.</summary>
    private async Task<ServiceResult<RunStartedDto>> StoreAsync(ImportedBundle imported, string dataset, string fileName)
    {
        var config = imported.Config;
        var run = await launcher.CreateImportedAsync(config, imported.ModelSpec, dataset, fileName);
        var snapshot = new CheckpointSnapshot(
            CheckpointKind.Manual,
            new TrainingPosition(0, 0, 0, 0, 0, 0, 0),
            new Dictionary<string, double>(),
            config,
            imported.ModelSpec,
            imported.Weights,
            imported.OptimizerState,
            imported.TorchRngState,
            new TrainerState(null, new Engine.Policies.ScheduleState(config.LearningRate, null, 0, 0), null));
        WrittenCheckpoint? written = null;
        try
        {
            written = store.Write(CheckpointStore.RunFolder(run.Id), "imported", snapshot, new CheckpointLineage(run.Id, null, null));
            await using var db = await dbFactory.CreateDbContextAsync(CancellationToken.None);
            db.Checkpoints.Add(new Checkpoint
            {
                RunId = run.Id,
                MetricsJson = "{}",
                Path = written.RelativePath,
                SizeBytes = written.SizeBytes,
                Sha256 = written.Sha256,
                Kind = CheckpointKind.Manual,
                Status = CheckpointStatus.Durable,
                CreatedAt = DateTime.UtcNow,
            });
            await db.SaveChangesAsync(CancellationToken.None);
        }
        catch (Exception e)
        {
            // No run without its checkpoint, no folder without its run: both go again, so a failed import leaves nothing.
            logger.LogError(e, "Storing imported run {RunId} failed; removing what was written.", run.Id);
            await UndoAsync(run, written);

            // A full disk or quota is the operator's to fix and says so; anything else is a fault of the server.
            if (CheckpointStore.IsDiskFull(e))
            {
                return new(default, Status: ServiceStatus.InsufficientStorage, Problem: "The disk is full: the imported checkpoint could not be written; free space and import the bundle again.");
            }

            throw;
        }

        launcher.Announce(run);
        return new(new RunStartedDto(run.Id), Status: 201);
    }

    private async Task UndoAsync(Run run, WrittenCheckpoint? written)
    {
        if (written is not null)
        {
            store.Delete(written.RelativePath);
        }

        // The run's folder was made for this checkpoint alone; left empty it would only puzzle whoever reads the folder.
        var runFolder = Path.Combine(store.Root, CheckpointStore.RunFolder(run.Id));
        if (Directory.Exists(runFolder) && !Directory.EnumerateFileSystemEntries(runFolder).Any())
        {
            Directory.Delete(runFolder);
        }

        // A fresh context: the failed one may still hold the checkpoint row it could not save.
        await using var db = await dbFactory.CreateDbContextAsync(CancellationToken.None);
        await db.Checkpoints.Where(c => c.RunId == run.Id).ExecuteDeleteAsync(CancellationToken.None);
        await db.Runs.Where(r => r.Id == run.Id).ExecuteDeleteAsync(CancellationToken.None);
    }

    private sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slots.Release();
            }
        }
    }
}
