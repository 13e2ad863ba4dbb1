using Dashboard.Engine.Export;
using Dashboard.Runs.Weights;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace Dashboard.Web.Api;

/// <summary>
/// <c>/api/weights</c>: uploading a pre-trained weights file (safetensors, or a PyTorch state_dict from <c>torch.save</c>)
/// and matching it against a model before a run starts from it (<c>initialWeights</c> of <c>POST /api/runs</c>).
/// </summary>
public static class WeightsEndpoints
{
    /// <summary>Room for multipart headers beside the file itself.</summary>
    private const long FormOverheadBytes = 16 * 1024;

    public static IEndpointRouteBuilder MapWeightsEndpoints(this IEndpointRouteBuilder app)
    {
        var weights = app.MapGroup("/api/weights").WithTags("Weights");

        weights.MapPost("", UploadAsync)
            .DisableAntiforgery()
            .Produces<WeightsDto>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

        weights.MapGet("/{id}", (string id, WeightsLibrary library) =>
            library.Find(id) is { } found ? Results.Ok(found) : ApiResults.Problem(StatusCodes.Status404NotFound, $"There is no weights file '{id}'."))
            .Produces<WeightsDto>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        weights.MapPost("/{id}/match", async (string id, HttpRequest request, WeightsLibrary library, CancellationToken ct) =>
        {
            var (body, error) = await ApiResults.ReadJsonAsync<WeightsMatchRequest>(request, optional: false, ct);
            return error ?? ApiResults.ToHttp(library.Match(id, body!), TypedResults.Ok);
        })
            .Produces<WeightsMatchDto>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

        return app;
    }

    // Multipart with one file field; the file goes straight to a spool file and is cut off past Storage:MaxWeightsBytes.
    private static async Task<IResult> UploadAsync(HttpRequest request, WeightsLibrary library, CancellationToken ct)
    {
        var maxBytes = library.MaxBytes;
        var boundary = MultipartUpload.Begin(request, maxBytes + FormOverheadBytes, out var tooLarge);
        if (tooLarge)
        {
            return TooLarge(maxBytes);
        }

        if (boundary is null)
        {
            return Invalid("Send a multipart form with the weights (.safetensors or a torch.save state_dict) as 'file'.");
        }

        FileStream? file = null;
        try
        {
            var reader = new MultipartReader(boundary, request.Body) { BodyLengthLimit = maxBytes + FormOverheadBytes };
            while (await reader.ReadNextSectionAsync(ct) is { } section)
            {
                if (section.GetContentDispositionHeader() is not { } disposition || !disposition.IsFileDisposition())
                {
                    continue;
                }

                if (file is not null)
                {
                    return Invalid("Upload exactly one weights file.");
                }

                file = await library.SpoolAsync(section.Body, ct);
            }

            return file is null
                ? Invalid("Upload the weights file as the form field 'file'.")
                : ApiResults.ToHttp(await library.AddAsync(file, ct), dto => TypedResults.Created($"/api/weights/{dto.Id}", dto));
        }
        catch (Exception e) when (e is UploadTooLargeException or BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }
            || (e is InvalidDataException invalid && invalid.Message.Contains("limit", StringComparison.OrdinalIgnoreCase)))
        {
            return TooLarge(maxBytes);
        }
        catch (InvalidDataException e)
        {
            return Invalid($"The form could not be read: {e.Message}");
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
    }

    private static IResult TooLarge(long maxBytes) =>
        ApiResults.Problem(StatusCodes.Status413PayloadTooLarge, $"Weights files may be at most {maxBytes:N0} bytes (Storage:MaxWeightsBytes).");

    private static IResult Invalid(string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["file"] = [message] });
}
