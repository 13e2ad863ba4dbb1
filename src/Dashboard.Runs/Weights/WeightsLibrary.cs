using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Export;
using Dashboard.Engine.Models;
using Dashboard.Engine.Weights;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Datasets;
using Dashboard.Runs.Options;
using Microsoft.Extensions.Options;

namespace Dashboard.Runs.Weights;

/// <summary>
/// Uploaded weights files. Each lives in the weights folder as <c>&lt;sha256&gt;.safetensors</c> or <c>.pt</c> beside
/// <c>&lt;sha256&gt;.json</c>, its <see cref="WeightsDto"/>; the id is the hash, so a run's config names exactly the bytes
/// it started from, and uploading the same file twice stores it once. The folder is the registry: no database table.
/// </summary>
public sealed partial class WeightsLibrary(
    UploadSpool spool,
    DatasetRegistry datasets,
    ModelRegistry models,
    IOptions<StorageOptions> storage,
    ILogger<WeightsLibrary> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonDefaults.Options) { WriteIndented = true };

    private string Folder => storage.Value.WeightsPath;

    public long MaxBytes => storage.Value.MaxWeightsBytes;

    /// <summary>Copies an upload to a temporary file (deleted when the stream is disposed), cut off past the size cap.</summary>
    /// <exception cref="UploadTooLargeException">The upload is larger than Storage:MaxWeightsBytes.</exception>
    public Task<FileStream> SpoolAsync(Stream upload, CancellationToken cancellationToken = default) =>
        spool.WriteAsync(upload, MaxBytes, cancellationToken);

    /// <summary>
    /// Spools <paramref name="upload"/> (cut off past the size cap) and stores it as <see cref="AddAsync"/> does; a file too
    /// large or a full disk is a refusal (413, 507), not an exception, for callers that show it, like the page.
    /// </summary>
    public async Task<ServiceResult<WeightsDto>> UploadAsync(Stream upload, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var file = await SpoolAsync(upload, cancellationToken);
            return await AddAsync(file, cancellationToken);
        }
        catch (UploadTooLargeException)
        {
            return new(default, null, 413, $"Weights files may be at most {MaxBytes:N0} bytes (Storage:MaxWeightsBytes).");
        }
        catch (UploadStorageFullException e)
        {
            return new(default, null, ServiceStatus.InsufficientStorage, e.Message);
        }
    }

    /// <summary>Checks a spooled weights file and stores it; an unreadable or unsafe file is refused on <c>file</c>.</summary>
    public async Task<ServiceResult<WeightsDto>> AddAsync(Stream file, CancellationToken cancellationToken = default)
    {
        var sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken));
        WeightsContents contents;
        try
        {
            // Parsing, and for a pickle unpickling, is CPU work on up to the size cap: off the request thread.
            contents = await Task.Run(() => WeightsReader.Read(file, MaxBytes), cancellationToken);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or FormatException or OverflowException)
        {
            return Invalid("file", e.Message);
        }

        if (contents.Tensors.Count == 0)
        {
            return Invalid("file", "The file holds no tensors.");
        }

        var dto = new WeightsDto(sha256, contents.Format, sha256, file.Length,
            [.. contents.Tensors.Select(t => new WeightsTensorDto(t.Name, t.Shape, "F32"))]);
        Directory.CreateDirectory(Folder);
        var path = DataPath(sha256, contents.Format);
        if (!File.Exists(path))
        {
            file.Position = 0;
            await AtomicFile.WriteAsync(path, stream => file.CopyToAsync(stream, cancellationToken));
        }

        await AtomicFile.WriteAsync(DescriptionPath(sha256), stream => JsonSerializer.SerializeAsync(stream, dto, Json, cancellationToken));
        logger.LogInformation("Weights {Sha256} stored: {Format}, {Count} tensors.", sha256, contents.Format, contents.Tensors.Count);
        return new(dto, Status: 201);
    }

    /// <summary>The stored description of <paramref name="id"/>, or null when there is none.</summary>
    public WeightsDto? Find(string? id)
    {
        if (id is null || !IdPattern().IsMatch(id) || !File.Exists(DescriptionPath(id)))
        {
            return null;
        }

        return JsonSerializer.Deserialize<WeightsDto>(File.ReadAllText(DescriptionPath(id)), Json);
    }

    /// <summary>The stored file's tensors, read and checked again (the file is the truth, not its description).</summary>
    public WeightsContents Load(string id)
    {
        var dto = Find(id) ?? throw new FileNotFoundException($"The weights file {id} is no longer stored.");
        using var file = File.OpenRead(DataPath(id, dto.Format));
        return WeightsReader.Read(file, MaxBytes);
    }

    /// <summary>How the file fits <paramref name="request"/>'s model built for its dataset.</summary>
    public ServiceResult<WeightsMatchDto> Match(string id, WeightsMatchRequest request)
    {
        if (Find(id) is not { } weights)
        {
            return ServiceResult<WeightsMatchDto>.NotFound($"There is no weights file '{id}'.");
        }

        var errors = new Dictionary<string, string[]>();
        var shapes = ModelShapes(request.Model, request.Dataset, errors, "");
        return shapes is null
            ? ServiceResult<WeightsMatchDto>.Invalid(errors)
            : new(WeightsMatchDto.From(MatchOf(weights, shapes), [.. shapes.Select(s => s.Name)]));
    }

    /// <summary>
    /// What a new run's <c>initialWeights</c> becomes in its config (the file's hash and the match counts), or errors
    /// under <c>initialWeights.*</c>: an unknown file, a file of which nothing fits, freeze entries that cover nothing.
    /// </summary>
    public InitialWeightsSettings? Plan(TrainingConfig config, InitialWeightsSettings request, Dictionary<string, string[]> errors)
    {
        if (Find(request.Id) is not { } weights)
        {
            errors["initialWeights.id"] = [$"There is no weights file '{request.Id}'; upload it with POST /api/weights."];
            return null;
        }

        if (errors.ContainsKey("model") || errors.ContainsKey("dataset") || ModelShapes(config.Model, config.Dataset, errors, "initialWeights.") is not { } shapes)
        {
            return null;
        }

        var match = MatchOf(weights, shapes);
        if (match.Matched.Count == 0)
        {
            errors["initialWeights.id"] = [$"No tensor of the file fits model '{config.Model}' on '{config.Dataset}' (by name and shape); see POST /api/weights/{{id}}/match."];
            return null;
        }

        var freeze = request.Freeze ?? [];
        if (FineTuneSettings.FreezeProblem(freeze, [.. shapes.Select(s => s.Name)]) is { } problem)
        {
            errors["initialWeights.freeze"] = [problem];
            return null;
        }

        return new InitialWeightsSettings
        {
            Id = weights.Id,
            Sha256 = weights.Sha256,
            Format = weights.Format,
            Freeze = freeze,
            Matched = match.Matched.Count,
            Missing = match.Missing.Count,
            Unexpected = match.Unexpected.Count,
            ShapeMismatches = match.ShapeMismatches.Count,
        };
    }

    private static WeightsMatch MatchOf(WeightsDto weights, IReadOnlyList<ParameterShape> shapes) =>
        WeightsMatcher.Match(shapes, weights.Tensors.Select(t => (t.Name, t.Shape)));

    /// <summary>The state_dict shapes of <paramref name="model"/> as a run on <paramref name="dataset"/> builds it.</summary>
    private IReadOnlyList<ParameterShape>? ModelShapes(string? model, string? dataset, Dictionary<string, string[]> errors, string prefix)
    {
        if (!datasets.TryGet(dataset, out var source))
        {
            errors[prefix + "dataset"] = [$"Unknown dataset '{dataset}'."];
        }

        if (!models.TryGet(model, out var architecture))
        {
            errors[prefix + "model"] = [$"Unknown model '{model}'."];
        }

        if (source is null || architecture is null)
        {
            return null;
        }

        if (architecture.Incompatibility(source.Info) is { } incompatible)
        {
            errors[prefix + "model"] = [incompatible];
            return null;
        }

        var spec = architecture.DefaultSpec(source.Info);
        if (ModelRegistry.ParameterShapes(spec) is { } shapes)
        {
            return shapes;
        }

        using var built = models.Build(spec);
        return WeightsMatcher.Shapes(built);
    }

    private string DataPath(string sha256, string format) =>
        Path.Combine(Folder, sha256 + (format == WeightsFormats.PyTorch ? ".pt" : ".safetensors"));

    private string DescriptionPath(string sha256) => Path.Combine(Folder, sha256 + ".json");

    private static ServiceResult<WeightsDto> Invalid(string field, string message) =>
        ServiceResult<WeightsDto>.Invalid(new Dictionary<string, string[]> { [field] = [message] });

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex IdPattern();
}
