using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Data;
using Dashboard.Engine.Evaluation;
using Dashboard.Engine.Export;
using Dashboard.Engine.Policies;
using Dashboard.Web.Services;

namespace Dashboard.Web.Api;

public static class CheckpointEndpoints
{
    public static IEndpointRouteBuilder MapCheckpointEndpoints(this IEndpointRouteBuilder app)
    {
        var runs = app.MapGroup("/api/runs/{runId:int}").WithTags("Checkpoints");

        runs.MapGet("/checkpoints/best", async (int runId, string? monitor, string? mode, CheckpointService service, CancellationToken ct) =>
            ApiResults.ToHttp(await service.BestAsync(runId, monitor ?? "valLoss", mode ?? MonitorMode.Min, ct), TypedResults.Ok))
            .Produces<CheckpointDto>();

        runs.MapGet("/checkpoints/latest", async (int runId, CheckpointService service, CancellationToken ct) =>
            ApiResults.ToHttp(await service.LatestAsync(runId, ct), TypedResults.Ok))
            .Produces<CheckpointDto>();

        // "Checkpoint now": written after the current batch as kind manual; the hub announces it once durable.
        runs.MapPost("/checkpoint", async (int runId, RunService runService, RunQueue queue, CancellationToken ct) =>
        {
            if (await runService.GetAsync(runId, ct) is null)
            {
                return ApiResults.Problem(StatusCodes.Status404NotFound, $"There is no run {runId}.");
            }

            return queue.RequestCheckpoint(runId)
                ? TypedResults.Accepted($"/api/runs/{runId}/checkpoints")
                : ApiResults.Problem(StatusCodes.Status409Conflict, $"Run {runId} is not training; its newest checkpoint is already its state.");
        });

        // A bundle as the body (application/zip) or as the file of a multipart form; the size is capped before reading, and
        // a chunked upload (no length) is cut off by Kestrel at the same cap.
        app.MapPost("/api/imports", async (HttpRequest request, ImportService imports, CancellationToken ct) =>
        {
            var tooLarge = ApiResults.Problem(StatusCodes.Status413PayloadTooLarge, $"Bundles may be at most {ImportService.MaxUploadBytes / (1024 * 1024)} MiB.");
            if (request.ContentLength > ImportService.MaxUploadBytes)
            {
                return tooLarge;
            }

            Stream body;
            var fileName = "bundle.zip";
            try
            {
                if (request.HasFormContentType)
                {
                    var form = await request.ReadFormAsync(ct);
                    if (form.Files.Count != 1)
                    {
                        return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["file"] = ["Upload exactly one bundle (.zip)."] });
                    }

                    body = form.Files[0].OpenReadStream();
                    fileName = form.Files[0].FileName;
                }
                else
                {
                    // ZipArchive needs to seek; the size cap bounds the copy.
                    var buffer = new MemoryStream();
                    await request.Body.CopyToAsync(buffer, ct);
                    buffer.Position = 0;
                    body = buffer;
                }
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return tooLarge;
            }
            catch (InvalidDataException e)
            {
                // The form reader's own limits (multipart body length, header sizes) and malformed multipart bodies.
                return e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase)
                    ? tooLarge
                    : TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["file"] = [$"The form could not be read: {e.Message}"] });
            }

            await using (body)
            {
                return ApiResults.ToHttp(await imports.ImportAsync(body, fileName, ct), started => TypedResults.Created($"/api/runs/{started.RunId}", started));
            }
        })
            .WithTags("Checkpoints")
            .DisableAntiforgery()
            .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(ImportService.MaxUploadBytes))
            .WithFormOptions(multipartBodyLengthLimit: ImportService.MaxUploadBytes)
            .Produces<RunStartedDto>(StatusCodes.Status201Created);

        app.MapGet("/api/checkpoints/orphans", async (CheckpointService service, CancellationToken ct) => TypedResults.Ok(await service.OrphansAsync(ct)))
            .WithTags("Checkpoints");

        app.MapPost("/api/checkpoints/orphans/{sha256}/adopt", async (string sha256, CheckpointService service, CancellationToken ct) =>
            sha256.Length == 64 && sha256.All(Uri.IsHexDigit)
                ? ApiResults.ToHttp(await service.AdoptAsync(sha256, ct), checkpoint => TypedResults.Created($"/api/checkpoints/{checkpoint.Id}", checkpoint))
                : TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["sha256"] = ["Give the 64 hex digits of the orphan's manifest hash."] }))
            .WithTags("Checkpoints");

        var checkpoints = app.MapGroup("/api/checkpoints/{id:int}").WithTags("Checkpoints");

        checkpoints.MapGet("/", async (int id, CheckpointService service, CancellationToken ct) =>
            await service.GetAsync(id, ct) is { } checkpoint
                ? TypedResults.Ok(checkpoint)
                : ApiResults.Problem(StatusCodes.Status404NotFound, $"There is no checkpoint {id}."))
            .Produces<CheckpointDto>();

        checkpoints.MapPost("/pin", async (int id, CheckpointService service, CancellationToken ct) =>
            ApiResults.ToHttp(await service.SetPinnedAsync(id, pinned: true, ct), _ => TypedResults.NoContent()));

        checkpoints.MapDelete("/pin", async (int id, CheckpointService service, CancellationToken ct) =>
            ApiResults.ToHttp(await service.SetPinnedAsync(id, pinned: false, ct), _ => TypedResults.NoContent()));

        checkpoints.MapDelete("/", async (int id, CheckpointService service, CancellationToken ct) =>
            ApiResults.ToHttp(await service.DeleteAsync(id, ct), _ => TypedResults.NoContent()));

        checkpoints.MapPost("/resume", async (int id, HttpRequest request, CheckpointService service, CancellationToken ct) =>
        {
            var (body, error) = await ApiResults.ReadJsonAsync<ResumeRequest>(request, optional: true, ct);
            return error ?? ApiResults.ToHttp(
                await service.ResumeAsync(id, body ?? new ResumeRequest(null), ct),
                started => TypedResults.Accepted($"/api/runs/{started.RunId}", started));
        })
            .Accepts<ResumeRequest>("application/json")
            .Produces<RunStartedDto>(StatusCodes.Status202Accepted);

        checkpoints.MapPost("/finetune", async (int id, HttpRequest request, CheckpointService service, CancellationToken ct) =>
        {
            var (body, error) = await ApiResults.ReadJsonAsync<FineTuneRequest>(request, optional: false, ct);
            return error ?? ApiResults.ToHttp(
                await service.FineTuneAsync(id, body!, ct),
                started => TypedResults.Accepted($"/api/runs/{started.RunId}", started));
        })
            .Accepts<FineTuneRequest>("application/json")
            .Produces<RunStartedDto>(StatusCodes.Status202Accepted);

        checkpoints.MapPost("/evaluate", async (int id, CheckpointService service, CheckpointEvaluator evaluator, CancellationToken ct) =>
        {
            var (loaded, problem) = await LoadDurableAsync(id, service, ct);
            return problem ?? TypedResults.Ok(await Task.Run(() => evaluator.EvaluateTestSplit(loaded!), ct));
        }).Produces<EvaluationResult>();

        checkpoints.MapPost("/predict", async (int id, HttpRequest request, CheckpointService service, CheckpointEvaluator evaluator, CancellationToken ct) =>
        {
            var (body, error) = await ApiResults.ReadJsonAsync<PredictRequest>(request, optional: false, ct);
            if (error is not null)
            {
                return error;
            }

            var (loaded, problem) = await LoadDurableAsync(id, service, ct);
            if (problem is not null)
            {
                return problem;
            }

            var size = loaded!.Manifest.ModelSpec.InputShape.Aggregate(1, (a, b) => a * b);
            if (body!.Input is not { } input || input.Length != size || input.Any(v => !float.IsFinite(v)))
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]>
                {
                    ["input"] = [$"Send {size} finite numbers (the model's input [{string.Join(", ", loaded.Manifest.ModelSpec.InputShape)}])."],
                });
            }

            var prepared = loaded.Manifest.Config.Dataset == MnistDataset.DatasetName ? [.. input.Select(MnistDataset.Normalize)] : input;
            var probabilities = evaluator.Predict(loaded, prepared);
            return TypedResults.Ok(new PredictionDto(Array.IndexOf(probabilities, probabilities.Max()), probabilities));
        }).Accepts<PredictRequest>("application/json").Produces<PredictionDto>();

        checkpoints.MapGet("/export", ExportAsync).Produces(StatusCodes.Status200OK, contentType: "application/octet-stream");

        return app;
    }

    private static async Task<IResult> ExportAsync(
        int id,
        string? format,
        CheckpointService service,
        RunService runs,
        CheckpointExporter exporter,
        CancellationToken ct)
    {
        format ??= CheckpointExporter.SafetensorsFormat;
        if (!CheckpointExporter.Formats.Contains(format))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["format"] = [$"Unknown format '{format}'. Use one of: {string.Join(", ", CheckpointExporter.Formats)}."],
            });
        }

        var (loaded, problem) = await LoadDurableAsync(id, service, ct);
        if (problem is not null)
        {
            return problem;
        }

        var checkpoint = (await service.GetAsync(id, ct))!;

        var stem = $"run{checkpoint.RunId}-epoch{checkpoint.Epoch:D3}-checkpoint{checkpoint.Id}";
        switch (format)
        {
            case CheckpointExporter.TorchSharpFormat:
                return TypedResults.File(CheckpointExporter.ToTorchSharp(loaded!), "application/octet-stream", $"{stem}.bin");
            case CheckpointExporter.BundleFormat:
                var run = await runs.GetAsync(checkpoint.RunId, ct);
                var history = (await runs.MetricsAsync(checkpoint.RunId, ct) ?? [])
                    .Where(m => m.Epoch <= checkpoint.Epoch)
                    .Select(m => (m.Epoch, (IReadOnlyDictionary<string, double>)new Dictionary<string, double>
                    {
                        ["loss"] = m.Loss,
                        ["valLoss"] = m.ValLoss,
                        ["accuracy"] = m.Accuracy ?? double.NaN,
                        ["valAccuracy"] = m.ValAccuracy ?? double.NaN,
                        ["learningRate"] = m.LearningRate,
                    }))
                    .ToList();
                var context = new ExportContext(checkpoint.RunId, run?.Name ?? $"run {checkpoint.RunId}", checkpoint.Id, history);
                return TypedResults.File(exporter.ToBundle(loaded!, context), "application/zip", $"{stem}.zip");
            default:
                return TypedResults.File(exporter.ToSafetensors(loaded!), "application/octet-stream", $"{stem}.safetensors");
        }
    }

    /// <summary>Reads a checkpoint for an action, or the problem that prevents it: unknown, not durable, or failing its hashes.</summary>
    private static async Task<(LoadedCheckpoint? Loaded, IResult? Problem)> LoadDurableAsync(int id, CheckpointService service, CancellationToken ct)
    {
        var result = await service.LoadDurableAsync(id, ct);
        return result.Succeeded ? (result.Value, null) : (null, ApiResults.ToHttp(result, _ => TypedResults.Ok()));
    }
}
