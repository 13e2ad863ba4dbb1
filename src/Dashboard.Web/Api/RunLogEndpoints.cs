using System.Globalization;
using System.Text.Json;
using Dashboard.Data.Entities;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Logging;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Dashboard.Web.Api;

/// <summary>
/// <c>GET /api/runs/{id}/log</c>: the run's log lines in order, as a JSON array (the contract's shape) or, with
/// <c>?format=jsonl</c>, as JSON lines. Both are streamed from the database, so a long log is never held whole.
/// </summary>
internal static class RunLogEndpoints
{
    public const string JsonLines = "jsonl";

    public static IEndpointRouteBuilder MapRunLogEndpoints(this IEndpointRouteBuilder app)
    {
        // Parameters as text, so "after=abc" is a field error like any other rather than a bare 400.
        app.MapGet("/api/runs/{id:int}/log", async Task<Results<PushStreamHttpResult, ProblemHttpResult, ValidationProblem>> (
            int id, string? after, string? level, string? format, RunLog log, IOptions<JsonOptions> jsonOptions, CancellationToken ct) =>
        {
            var errors = new Dictionary<string, string[]>();
            var afterId = 0L;
            if (after is not null && (!long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out afterId)))
            {
                errors["after"] = ["after is the id of the last line already read, a whole number of 0 or more."];
            }

            if (level is not null && RunLogLevel.AtLeast(level) is null)
            {
                errors["level"] = [$"Unknown level '{level}'. Use one of: {string.Join(", ", RunLogLevel.All)} (lines of that level and above)."];
            }

            if (format is not null && format != JsonLines && format != "json")
            {
                errors["format"] = [$"Unknown format '{format}'. Use json (the default) or {JsonLines}."];
            }

            if (errors.Count > 0)
            {
                return TypedResults.ValidationProblem(errors);
            }

            if (!await log.HasRunAsync(id, ct))
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"There is no run {id}.");
            }

            var lines = log.ReadAsync(id, new RunLogQuery(afterId, level ?? RunLogLevel.Info), ct);
            var options = jsonOptions.Value.SerializerOptions;
            return format == JsonLines
                ? TypedResults.Stream(stream => WriteJsonLinesAsync(stream, lines, options, ct), "application/x-ndjson; charset=utf-8")
                : TypedResults.Stream(stream => JsonSerializer.SerializeAsync(stream, lines, options, ct), "application/json; charset=utf-8");
        })
        .WithTags("Runs")
        .Produces<IReadOnlyList<RunLogLineDto>>(StatusCodes.Status200OK, "application/json", "application/x-ndjson");
        return app;
    }

    private static async Task WriteJsonLinesAsync(Stream stream, IAsyncEnumerable<RunLogLineDto> lines, JsonSerializerOptions options, CancellationToken ct)
    {
        var newline = "\n"u8.ToArray();
        await foreach (var line in lines.WithCancellation(ct))
        {
            await JsonSerializer.SerializeAsync(stream, line, options, ct);
            await stream.WriteAsync(newline, ct);
        }
    }
}
