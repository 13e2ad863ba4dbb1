using Dashboard.Engine.Export;
using Dashboard.Runs.Datasets;
using Dashboard.Runs.Options;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Dashboard.Web.Api;

/// <summary><c>/api/datasets</c>: the built-in and uploaded datasets; CSV and image-folder zip uploads; deleting an uploaded one.</summary>
public static class DatasetEndpoints
{
    /// <summary>Room for the form's text fields and multipart headers beside the file itself.</summary>
    private const long FormOverheadBytes = 64 * 1024;

    /// <summary>A text field longer than this (a name, a target, a list of feature columns) is refused.</summary>
    private const int MaxFieldChars = 16 * 1024;

    public static IEndpointRouteBuilder MapDatasetEndpoints(this IEndpointRouteBuilder app)
    {
        var datasets = app.MapGroup("/api/datasets").WithTags("Datasets");

        datasets.MapGet("", (DatasetLibrary library) => TypedResults.Ok(library.List()));

        // Multipart: file, name, target, task?, features?, impute? (CSV); file, name, imageSize?, color? (zip). The file goes straight to a spool file and is cut off
        // once it passes Storage:MaxDatasetBytes; nothing of it is buffered in memory.
        datasets.MapPost("", async (HttpRequest request, DatasetLibrary library, IOptions<StorageOptions> storage, CancellationToken ct) =>
        {
            var maxBytes = storage.Value.MaxDatasetBytes;
            var boundary = MultipartUpload.Begin(request, maxBytes + FormOverheadBytes, out var tooLarge);
            if (tooLarge)
            {
                return TooLarge(maxBytes);
            }

            if (boundary is null)
            {
                return Invalid("file", "Send a multipart form with the CSV (fields 'name', 'target') or image-folder zip (fields 'name', 'imageSize', 'color') as 'file'.");
            }

            FileStream? file = null;
            try
            {
                var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                var reader = new MultipartReader(boundary, request.Body) { BodyLengthLimit = maxBytes + FormOverheadBytes };
                while (await reader.ReadNextSectionAsync(ct) is { } section)
                {
                    if (section.GetContentDispositionHeader() is not { } disposition)
                    {
                        continue;
                    }

                    if (disposition.IsFileDisposition())
                    {
                        if (file is not null)
                        {
                            return Invalid("file", "Upload exactly one file: a CSV table or a zip of image folders.");
                        }

                        file = await library.SpoolAsync(section.Body, ct);
                        continue;
                    }

                    var name = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
                    using var text = new StreamReader(section.Body);
                    var buffer = new char[MaxFieldChars + 1];
                    var read = await text.ReadBlockAsync(buffer, ct);
                    if (read > MaxFieldChars)
                    {
                        return Invalid(name, $"'{name}' is longer than {MaxFieldChars:N0} characters.");
                    }

                    fields[name] = new string(buffer, 0, read);
                }

                if (file is null)
                {
                    return Invalid("file", "Upload exactly one file (a CSV table or a zip of image folders) as the form field 'file'.");
                }

                var impute = fields.GetValueOrDefault("impute");
                if (impute is not (null or "" or "true" or "false" or "on"))
                {
                    return Invalid("impute", "'impute' must be true or false.");
                }

                int? imageSize = null;
                if (fields.GetValueOrDefault("imageSize") is { Length: > 0 } size)
                {
                    if (!int.TryParse(size, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var side))
                    {
                        return Invalid("imageSize", "'imageSize' must be a whole number of pixels.");
                    }

                    imageSize = side;
                }

                var form = new DatasetUploadForm(
                    fields.GetValueOrDefault("name"),
                    fields.GetValueOrDefault("target"),
                    fields.GetValueOrDefault("task"),
                    fields.GetValueOrDefault("features"),
                    impute is "true" or "on",
                    imageSize,
                    fields.GetValueOrDefault("color"));
                return ApiResults.ToHttp(await library.AddAsync(file, form, ct), dataset => TypedResults.Created($"/api/datasets/{dataset.Name}", dataset));
            }
            catch (Exception e) when (e is UploadTooLargeException or BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }
                || (e is InvalidDataException invalid && invalid.Message.Contains("limit", StringComparison.OrdinalIgnoreCase)))
            {
                return TooLarge(maxBytes);
            }
            catch (InvalidDataException e)
            {
                return Invalid("file", $"The form could not be read: {e.Message}");
            }
            catch (UploadStorageFullException e)
            {
                return ApiResults.Problem(StatusCodes.Status507InsufficientStorage, e.Message);
            }
            finally
            {
                if (file is not null)
                {
                    await file.DisposeAsync();
                }
            }
        })
            .DisableAntiforgery()
            .Produces<DatasetSummaryDto>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

        datasets.MapDelete("/{name}", async (string name, DatasetLibrary library, CancellationToken ct) =>
            ApiResults.ToHttp(await library.DeleteAsync(name, ct), _ => TypedResults.NoContent()))
            .ProducesProblem(StatusCodes.Status409Conflict);

        return app;
    }

    private static IResult TooLarge(long maxBytes) =>
        ApiResults.Problem(StatusCodes.Status413PayloadTooLarge, $"Datasets may be at most {maxBytes:N0} bytes (Storage:MaxDatasetBytes).");

    private static IResult Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] });
}
