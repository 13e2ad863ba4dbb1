using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dashboard.Data;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Datasets.Images;
using Dashboard.Engine.Datasets.Tabular;
using Dashboard.Engine.Export;
using Dashboard.Plugins;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Options;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Dashboard.Runs.Datasets;

/// <summary>
/// Uploaded CSV tables and image-folder zips. Each lives in the datasets folder as <c>&lt;sha256&gt;.csv</c> or
/// <c>.zip</c> (content-addressed: two names over one file share it) and <c>&lt;name&gt;.json</c>, its
/// <see cref="TableDescription"/> or <see cref="Dashboard.Engine.Datasets.Images.ImageFolderDescription"/>. The folder is the registry — no
/// database table — so a dataset and its file can never disagree, and a copied data folder brings its datasets along.
/// </summary>
public sealed partial class DatasetLibrary(
    DatasetRegistry registry,
    UploadSpool spool,
    IDbContextFactory<DashboardDbContext> dbFactory,
    IOptions<StorageOptions> storage,
    ILogger<DatasetLibrary> logger)
{
    public const int MaxNameLength = 64;

    private static readonly JsonSerializerOptions Json = new(JsonDefaults.Options) { WriteIndented = true };

    // One upload or deletion at a time: the name check and the files written must not interleave.
    private readonly SemaphoreSlim _gate = new(1, 1);

    private string Folder => storage.Value.DatasetPath;

    public CsvTableLimits Limits => LimitsOf(storage.Value);

    public static CsvTableLimits LimitsOf(StorageOptions options) => new() { MaxRows = options.MaxDatasetRows, MaxColumns = options.MaxDatasetColumns };

    /// <summary>
    /// Registers every stored description with <paramref name="registry"/> (called as the registry is built, so runs resumed
    /// at start-up find their tables); an unreadable one is logged and skipped.
    /// </summary>
    public static int LoadStored(DatasetRegistry registry, StorageOptions options, ILogger logger)
    {
        var folder = options.DatasetPath;
        if (!Directory.Exists(folder))
        {
            return 0;
        }

        var loaded = 0;
        foreach (var file in Directory.EnumerateFiles(folder, "*.json"))
        {
            try
            {
                if (registry.TryAdd(StoredSource(File.ReadAllText(file), options)))
                {
                    loaded++;
                }
            }
            catch (Exception e) when (e is IOException or JsonException or InvalidDataException or UnauthorizedAccessException)
            {
                logger.LogWarning(e, "The dataset description {File} could not be read; the dataset is not offered.", file);
            }
        }

        return loaded;
    }

    /// <summary>
    /// Copies an upload to a temporary file (deleted when the stream is disposed), cut off past Storage:MaxDatasetBytes.
    /// </summary>
    /// <exception cref="UploadTooLargeException">The upload is larger than the cap.</exception>
    public Task<FileStream> SpoolAsync(Stream upload, CancellationToken cancellationToken = default) =>
        spool.WriteAsync(upload, storage.Value.MaxDatasetBytes, cancellationToken);

    /// <summary>The first rows of a spooled table and each column's detected kind, or why the table cannot be read.</summary>
    public async Task<ServiceResult<DatasetPreviewDto>> PreviewAsync(Stream csv, CancellationToken cancellationToken = default)
    {
        try
        {
            var preview = await Task.Run(() => CsvPreview.Read(csv, Limits), cancellationToken);
            return new(new DatasetPreviewDto(preview.Columns, preview.Rows, preview.Kinds));
        }
        catch (CsvTableException e)
        {
            return ServiceResult<DatasetPreviewDto>.Invalid(new Dictionary<string, string[]> { ["file"] = [e.Message] });
        }
        finally
        {
            csv.Position = 0;
        }
    }

    public IReadOnlyList<DatasetSummaryDto> List() =>
        [.. registry.All.Select(info => DatasetSummaryDto.From(registry.Get(info.Name)))];

    /// <summary>
    /// Checks an uploaded table or image-folder zip (held in <paramref name="csv"/>, a seekable file) and stores it under the form's name.
    /// Field errors name the row and column of the first problem.
    /// </summary>
    public async Task<ServiceResult<DatasetSummaryDto>> AddAsync(Stream csv, DatasetUploadForm form, CancellationToken cancellationToken = default)
    {
        var name = form.Name?.Trim() ?? "";
        if (NameProblem(name) is { } problem)
        {
            return Invalid("name", problem);
        }

        // Told by the content, not the file's name: a zip is image folders, anything else is read as a CSV table.
        var images = ImageZipReader.IsZip(csv);
        if (!images && string.IsNullOrWhiteSpace(form.Target))
        {
            return Invalid("target", "Name the target column.");
        }

        var task = string.IsNullOrWhiteSpace(form.Task) ? null : form.Task.Trim().ToLowerInvariant();
        if (task is not null && !TaskKinds.All.Contains(task))
        {
            return Invalid("task", $"Unknown task '{form.Task}'. Choose classification or regression, or leave it out to guess from the target.");
        }

        var features = string.IsNullOrWhiteSpace(form.Features)
            ? null
            : form.Features.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (registry.TryGet(name, out _))
            {
                return Invalid("name", $"A dataset named '{name}' exists already.");
            }

            var sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(csv, cancellationToken));
            csv.Position = 0;
            if (images)
            {
                return await AddImagesAsync(csv, name, sha256, form, cancellationToken);
            }

            var request = new CsvTableRequest(name, form.Target!.Trim(), task, features, form.Impute);
            TableDescription table;
            try
            {
                // Parsing is CPU work on a file of up to the size cap: off the request thread.
                table = await Task.Run(() => CsvTableAnalyzer.Analyze(csv, sha256, request, Limits), cancellationToken);
            }
            catch (CsvTableException e)
            {
                return Invalid(e.Field, e.Message);
            }

            var source = new CsvDatasetSource(table, CsvPath(sha256), Limits);
            await StoreAsync(csv, CsvPath(sha256), table, source, cancellationToken);
            logger.LogInformation("Dataset {Name} stored: {Rows} rows, {Task}, file {Sha256}.", name, table.Rows, table.Task, sha256);
            return new(DatasetSummaryDto.From(source));
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Removes an uploaded dataset; refused for built-ins and while any run names it (its checkpoints need it).</summary>
    public async Task<ServiceResult<bool>> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        if (!registry.TryGet(name, out var source))
        {
            return ServiceResult<bool>.NotFound($"There is no dataset '{name}'.");
        }

        if (DataPath(source) is not { } dataPath)
        {
            return ServiceResult<bool>.Conflict($"'{source.Info.Name}' is built in and cannot be deleted.");
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            // Any run, not only a running one: its checkpoints evaluate and predict on this table and its statistics.
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            var users = await db.Runs.AsNoTracking().Where(r => r.Dataset == source.Info.Name)
                .OrderBy(r => r.Id).Select(r => new { r.Id, r.Name }).Take(20).ToListAsync(cancellationToken);
            if (users.Count > 0)
            {
                return ServiceResult<bool>.Conflict(
                    $"Runs use '{source.Info.Name}': {string.Join(", ", users.Select(u => $"{u.Id} ({u.Name})"))}. Delete them first.");
            }

            // The description goes first: a registry refreshing from the folder meanwhile must not find it and add it back.
            File.Delete(DescriptionPath(source.Info.Name));
            registry.TryRemove(source.Info.Name);
            var shared = registry.All.Select(i => registry.Get(i.Name)).Any(s => DataPath(s) == dataPath);
            if (!shared)
            {
                File.Delete(dataPath);
            }

            return new(true);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Why a name cannot be used, or null. Names are file names and URL segments, so they are kept plain.</summary>
    public static string? NameProblem(string name) =>
        name.Length is 0 or > MaxNameLength || !NamePattern().IsMatch(name)
            ? $"A dataset name is 1 to {MaxNameLength} letters, digits, '-' or '_', starting with a letter or digit."
            : null;

    private string CsvPath(string sha256) => Path.Combine(Folder, sha256 + ".csv");

    private string DescriptionPath(string name) => Path.Combine(Folder, name.ToLowerInvariant() + ".json");

    /// <summary>Writes the data file (once per content hash), then the description, then offers the dataset to runs.</summary>
    private async Task StoreAsync<TDescription>(Stream file, string dataPath, TDescription description, IDatasetSource source, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Folder);
        if (!File.Exists(dataPath))
        {
            file.Position = 0;
            await AtomicFile.WriteAsync(dataPath, stream => file.CopyToAsync(stream, cancellationToken));
        }

        await AtomicFile.WriteAsync(DescriptionPath(source.Info.Name), stream => JsonSerializer.SerializeAsync(stream, description, Json, cancellationToken));
        registry.TryAdd(source);
    }

    private static ServiceResult<DatasetSummaryDto> Invalid(string field, string message) =>
        ServiceResult<DatasetSummaryDto>.Invalid(new Dictionary<string, string[]> { [field] = [message] });

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]*$")]
    private static partial Regex NamePattern();
}
