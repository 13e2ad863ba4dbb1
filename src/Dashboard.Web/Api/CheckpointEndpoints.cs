using Dashboard.Engine.Export;
using Dashboard.Engine.Policies;
using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Evaluation;
using Dashboard.Runs.Imports;
using Dashboard.Runs.Launching;
using Dashboard.Runs.Management;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Dashboard.Web.Api;

public static class CheckpointEndpoints
{
    public static IEndpointRouteBuilder MapCheckpointEndpoints(this IEndpointRouteBuilder app)
    {
        var runs = app.MapGroup("/api/runs/{runId:int}").WithTags("Checkpoints");

        runs.MapGet("/checkpoints/best", async (int runId, string? monitor, string? mode, CheckpointQueries service, CancellationToken ct) =>
            ApiResults.ToHttp(await service.BestAsync(runId, monitor ?? "valLoss", mode ?? MonitorMode.Min, ct), TypedResults.Ok))
            .Produces<CheckpointDto>();

        runs.MapGet("/checkpoints/latest", async (int runId, CheckpointQueries service, CancellationToken ct) =>
            ApiResults.ToHttp(await service.LatestAsync(runId, ct), TypedResults.Ok))
            .Produces<CheckpointDto>();

        // "Checkpoint now": written after the current batch as kind manual; the hub announces it once durable.
        // "Checkpoint now": written after the current batch as kind manual; the hub announces it once durable.
        runs.MapPost("/checkpoint", async (int runId, RunService service, CancellationToken ct) =>
            ApiResults.ToHttp(await service.RequestCheckpointAsync(runId, ct), _ => TypedResults.Accepted($"/api/runs/{runId}/checkpoints")));

        // A bundle as the body (application/zip) or as the file of a multipart form. A declared length over the cap is refused
        // before reading; otherwise the upload is copied to a temporary file and cut off as soon as it passes the cap.
        app.MapPost("/api/imports", async (HttpRequest request, ImportService imports, CancellationToken ct) =>
        {
            if (request.ContentLength > ImportService.MaxUploadBytes)
            {
                return BundleTooLarge();
            }

            // Taken before the body is read, so a refused client has not sent hundreds of megabytes for nothing.
            using var slot = imports.TryBeginImport();
            if (slot is null)
            {
                request.HttpContext.Response.Headers.RetryAfter = "5";
                return ApiResults.Problem(
                    StatusCodes.Status429TooManyRequests,
                    $"{ImportService.MaxConcurrentImports} imports are being received or checked; try again in a few seconds.");
            }

            var (bundle, fileName, refusal) = await ReceiveBundleAsync(request, imports, ct);
            if (bundle is null)
            {
                return refusal!;
            }

            await using (bundle)
            {
                return ApiResults.ToHttp(await imports.ImportAsync(bundle, fileName, ct), started => TypedResults.Created($"/api/runs/{started.RunId}", started));
            }
        })
            .WithTags("Checkpoints")
            .DisableAntiforgery()
            .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(ImportService.MaxUploadBytes))
            .Produces<RunStartedDto>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        app.MapGet("/api/checkpoints/orphans", async (CheckpointMaintenance service, CancellationToken ct) => TypedResults.Ok(await service.OrphansAsync(ct)))
            .WithTags("Checkpoints");

        app.MapPost("/api/checkpoints/orphans/{sha256}/adopt", async (string sha256, CheckpointMaintenance service, CancellationToken ct) =>
            sha256.Length == 64 && sha256.All(Uri.IsHexDigit)
                ? ApiResults.ToHttp(await service.AdoptAsync(sha256, ct), checkpoint => TypedResults.Created($"/api/checkpoints/{checkpoint.Id}", checkpoint))
                : TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["sha256"] = ["Give the 64 hex digits of the orphan's manifest hash."] }))
            .WithTags("Checkpoints");

        // The way back after the checkpoint folder was away: missing checkpoints whose files are back and verify are durable
        // again. 503 while the folder is still unusable.
        app.MapPost("/api/checkpoints/audit", async (bool? acceptMissing, CheckpointMaintenance service, CancellationToken ct) =>
            ApiResults.ToHttp(await service.ReauditAsync(acceptMissing ?? false, ct), TypedResults.Ok))
            .WithTags("Checkpoints")
            .Produces<CheckpointAuditDto>();

        var checkpoints = app.MapGroup("/api/checkpoints/{id:int}").WithTags("Checkpoints");

        checkpoints.MapGet("/", async (int id, CheckpointQueries service, CancellationToken ct) =>
            await service.GetAsync(id, ct) is { } checkpoint
                ? TypedResults.Ok(checkpoint)
                : ApiResults.Problem(StatusCodes.Status404NotFound, $"There is no checkpoint {id}."))
            .Produces<CheckpointDto>();

        // The data hash the checkpoint was trained on, the dataset's hash now, and the drift warning when they differ.
        checkpoints.MapGet("/data", async (int id, CheckpointDataCheck check, CancellationToken ct) =>
            ApiResults.ToHttp(await check.GetAsync(id, ct), TypedResults.Ok))
            .Produces<CheckpointDataDto>();

        checkpoints.MapPost("/pin", async (int id, CheckpointMaintenance service, CancellationToken ct) =>
            ApiResults.ToHttp(await service.SetPinnedAsync(id, pinned: true, ct), _ => TypedResults.NoContent()));

        checkpoints.MapDelete("/pin", async (int id, CheckpointMaintenance service, CancellationToken ct) =>
            ApiResults.ToHttp(await service.SetPinnedAsync(id, pinned: false, ct), _ => TypedResults.NoContent()));

        checkpoints.MapDelete("/", async (int id, CheckpointMaintenance service, CancellationToken ct) =>
            ApiResults.ToHttp(await service.DeleteAsync(id, ct), _ => TypedResults.NoContent()));

        checkpoints.MapPost("/resume", async (int id, HttpRequest request, RunLauncher service, CancellationToken ct) =>
        {
            var (body, error) = await ApiResults.ReadJsonAsync<ResumeRequest>(request, optional: true, ct);
            return error ?? ApiResults.ToHttp(
                await service.ResumeAsync(id, body ?? new ResumeRequest(null), ct),
                started => TypedResults.Accepted($"/api/runs/{started.RunId}", started));
        })
            .Accepts<ResumeRequest>("application/json")
            .Produces<RunStartedDto>(StatusCodes.Status202Accepted);

        checkpoints.MapPost("/finetune", async (int id, HttpRequest request, RunLauncher service, CancellationToken ct) =>
        {
            var (body, error) = await ApiResults.ReadJsonAsync<FineTuneRequest>(request, optional: false, ct);
            return error ?? ApiResults.ToHttp(
                await service.FineTuneAsync(id, body!, ct),
                started => TypedResults.Accepted($"/api/runs/{started.RunId}", started));
        })
            .Accepts<FineTuneRequest>("application/json")
            .Produces<RunStartedDto>(StatusCodes.Status202Accepted);

        checkpoints.MapPost("/evaluate", async (int id, CheckpointInspector service, CancellationToken ct) =>
            ApiResults.ToHttp(await service.EvaluateAsync(id, ct), TypedResults.Ok))
            .Produces<EvaluationDto>();

        checkpoints.MapPost("/predict", async (int id, HttpRequest request, CheckpointInspector service, CancellationToken ct) =>
        {
            var (body, error) = await ApiResults.ReadJsonAsync<PredictRequest>(request, optional: false, ct);
            return error ?? ApiResults.ToHttp(await service.PredictFromRequestAsync(id, body!, ct), TypedResults.Ok);
        }).Accepts<PredictRequest>("application/json").Produces<PredictionDto>();

        checkpoints.MapGet("/export", async (int id, string? format, CheckpointExports service, CancellationToken ct) =>
            ApiResults.ToHttp(await service.ExportAsync(id, format, ct), file => TypedResults.File(file.Content, file.ContentType, file.FileName)))
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream");

        return app;
    }

    private static IResult BundleTooLarge() =>
        ApiResults.Problem(StatusCodes.Status413PayloadTooLarge, $"Bundles may be at most {ImportService.MaxUploadBytes / (1024 * 1024)} MiB.");

    /// <summary>
    /// The uploaded bundle in a temporary file (deleted when the stream is disposed) and its file name, or why there is none.
    /// A form is read section by section, not with ReadFormAsync, which would buffer the file once more in the system's
    /// temp folder; its one file section goes straight to the spool.
    /// </summary>
    private static async Task<(FileStream? Bundle, string FileName, IResult? Refusal)> ReceiveBundleAsync(
        HttpRequest request, ImportService imports, CancellationToken ct)
    {
        var notOne = TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["file"] = ["Upload exactly one bundle (.zip)."] });
        FileStream? bundle = null;
        try
        {
            if (!request.HasFormContentType)
            {
                return (await imports.SpoolAsync(request.Body, ct), "bundle.zip", null);
            }

            // A url-encoded form has no boundary, and no files.
            var boundary = MediaTypeHeaderValue.TryParse(request.ContentType, out var type) ? HeaderUtilities.RemoveQuotes(type.Boundary).Value : null;
            if (string.IsNullOrEmpty(boundary))
            {
                return (null, "", notOne);
            }

            var reader = new MultipartReader(boundary, request.Body) { BodyLengthLimit = ImportService.MaxUploadBytes };
            var fileName = "";
            while (await reader.ReadNextSectionAsync(ct) is { } section)
            {
                if (section.GetContentDispositionHeader() is not { } disposition || !disposition.IsFileDisposition())
                {
                    continue;
                }

                if (bundle is not null)
                {
                    await bundle.DisposeAsync();
                    return (null, "", notOne);
                }

                fileName = HeaderUtilities.RemoveQuotes(StringSegment.IsNullOrEmpty(disposition.FileNameStar) ? disposition.FileName : disposition.FileNameStar).Value ?? "";
                bundle = await imports.SpoolAsync(section.Body, ct);
            }

            return bundle is null ? (null, "", notOne) : (bundle, fileName, null);
        }
        catch (Exception e) when (Refusal(e) is { } refusal)
        {
            if (bundle is not null)
            {
                await bundle.DisposeAsync();
            }

            return (null, "", refusal);
        }
        catch
        {
            if (bundle is not null)
            {
                await bundle.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>The answer to an upload that could not be received, or null for a fault of the server.</summary>
    private static IResult? Refusal(Exception e) => e switch
    {
        UploadTooLargeException or BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => BundleTooLarge(),
        UploadStorageFullException full => ApiResults.Problem(StatusCodes.Status507InsufficientStorage, full.Message),

        // The multipart reader's own limits (section length, header sizes) and malformed multipart bodies.
        InvalidDataException invalid => invalid.Message.Contains("limit", StringComparison.OrdinalIgnoreCase)
            ? BundleTooLarge()
            : FormUnreadable(invalid.Message),

        // The multipart reader's word for a body that ends inside a section, before the closing boundary.
        IOException cut when cut is not BadHttpRequestException && cut.Message.StartsWith("Unexpected end of Stream", StringComparison.Ordinal) =>
            FormUnreadable("it ends before its closing boundary."),
        _ => null,
    };

    private static IResult FormUnreadable(string why) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["file"] = [$"The form could not be read: {why}"] });
}
