using System.Text.Json;
using Dashboard.Data.Entities;
using Dashboard.Web.Contracts;
using Dashboard.Web.Services;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Dashboard.Web.Api;

public static class RunEndpoints
{
    public static IEndpointRouteBuilder MapRunEndpoints(this IEndpointRouteBuilder app)
    {
        var runs = app.MapGroup("/api/runs").WithTags("Runs");

        runs.MapPost("/", CreateAsync)
            .Accepts<CreateRunRequest>("application/json")
            .Produces<RunDto>(StatusCodes.Status201Created)
            .ProducesValidationProblem();

        runs.MapGet("/", async Task<Results<Ok<IReadOnlyList<RunDto>>, ValidationProblem>> (string? status, RunService service, CancellationToken ct) =>
            status is null || RunStatus.All.Contains(status)
                ? TypedResults.Ok(await service.ListAsync(status, ct))
                : TypedResults.ValidationProblem(new Dictionary<string, string[]>
                {
                    ["status"] = [$"Unknown status '{status}'. Use one of: {string.Join(", ", RunStatus.All)}."],
                }));

        runs.MapGet("/{id:int}", async Task<Results<Ok<RunDto>, ProblemHttpResult>> (int id, RunService service, CancellationToken ct) =>
            await service.GetAsync(id, ct) is { } run ? TypedResults.Ok(run) : RunNotFound(id));

        runs.MapGet("/{id:int}/metrics", async Task<Results<Ok<IReadOnlyList<MetricDto>>, ProblemHttpResult>> (int id, RunService service, CancellationToken ct) =>
            await service.MetricsAsync(id, ct) is { } metrics ? TypedResults.Ok(metrics) : RunNotFound(id));

        runs.MapGet("/{id:int}/checkpoints", async Task<Results<Ok<IReadOnlyList<CheckpointDto>>, ProblemHttpResult>> (int id, RunService service, CancellationToken ct) =>
            await service.CheckpointsAsync(id, ct) is { } checkpoints ? TypedResults.Ok(checkpoints) : RunNotFound(id));

        runs.MapPost("/{id:int}/stop", async (int id, RunService service, CancellationToken ct) =>
            ToHttp(await service.StopAsync(id, ct), run => TypedResults.Accepted($"/api/runs/{id}", run)));

        return app;
    }

    /// <summary>
    /// Reads the body by hand so that malformed JSON and wrong types come back as field errors, like every other
    /// invalid input, rather than as an empty 400.
    /// </summary>
    private static async Task<IResult> CreateAsync(HttpRequest request, RunService service, CancellationToken ct)
    {
        if (!request.HasJsonContentType())
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                title: "Unsupported media type",
                detail: "Send the run as application/json.");
        }

        CreateRunRequest? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<CreateRunRequest>(request.Body, JsonDefaults.Options, ct);
        }
        catch (JsonException e)
        {
            var field = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "body" : e.Path.TrimStart('$', '.');
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { [field] = [$"The JSON could not be read here: {FirstSentence(e.Message)}"] },
                title: "The request body is not a valid run.");
        }

        if (body is null)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["The body must be a JSON object."] });
        }

        return ToHttp(await service.CreateAsync(body, ct), run => TypedResults.Created($"/api/runs/{run.Id}", run));
    }

    internal static IResult ToHttp<T>(ServiceResult<T> result, Func<T, IResult> success) => result switch
    {
        { Errors: { } errors } => TypedResults.ValidationProblem(errors),
        { Problem: { } problem, Status: var status } => TypedResults.Problem(statusCode: status, title: ReasonTitle(status), detail: problem),
        _ => success(result.Value!),
    };

    private static ProblemHttpResult RunNotFound(int id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"There is no run {id}.");

    private static string ReasonTitle(int status) => status switch
    {
        StatusCodes.Status404NotFound => "Not found",
        StatusCodes.Status409Conflict => "Conflict",
        _ => "Request refused",
    };

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message : message[..(end + 1)];
    }
}
