using System.Text.Json;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Exports;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Dashboard.Web.Api;

/// <summary>The file forms of <c>/metrics</c> and <c>/steps</c> (<c>?format=csv|json</c>), named for the run they are of.</summary>
internal static class RunDownloads
{
    /// <summary><c>GET /api/runs/{id}/tensorboard</c>: the run as a TensorBoard event file, streamed as it is written.</summary>
    public static IEndpointRouteBuilder MapRunDownloadEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/runs/{id:int}/tensorboard", async Task<Results<PushStreamHttpResult, ProblemHttpResult>> (int id, RunExports exports, CancellationToken ct) =>
            await exports.ExistsAsync(id, ct)
                ? TypedResults.Stream(stream => exports.WriteTensorBoardAsync(id, stream, ct), "application/octet-stream", $"run{id}.tfevents")
                : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"There is no run {id}."))
            .WithTags("Runs");
        return app;
    }

    public const string Csv = "csv";

    public const string Json = "json";

    /// <summary>The format asked for, lower-cased, or null when it is none of ours.</summary>
    public static string? ParseFormat(string format) => format.ToLowerInvariant() switch
    {
        Csv => Csv,
        Json => Json,
        _ => null,
    };

    public static string UnknownFormatMessage(string format) => $"Unknown format '{format}'. Use csv or json.";

    public static ValidationProblem UnknownFormat(string format) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["format"] = [UnknownFormatMessage(format)] });

    /// <summary>The metrics as a file; the JSON is what the route answers without a format, written with the same options.</summary>
    public static PushStreamHttpResult Metrics(int runId, IReadOnlyList<MetricDto> metrics, string format, IOptions<JsonOptions> jsonOptions) =>
        format == Csv
            ? TypedResults.Stream(
                async stream =>
                {
                    await using var writer = new StreamWriter(stream, leaveOpen: true) { NewLine = "\n" };
                    await writer.WriteLineAsync(RunCsv.MetricsHeaderFor(metrics));
                    foreach (var metric in metrics)
                    {
                        await writer.WriteLineAsync(RunCsv.MetricLine(metric));
                    }
                },
                "text/csv; charset=utf-8",
                $"run{runId}-metrics.csv")
            : TypedResults.Stream(
                stream => JsonSerializer.SerializeAsync(stream, metrics, jsonOptions.Value.SerializerOptions),
                "application/json; charset=utf-8",
                $"run{runId}-metrics.json");

    /// <summary>Every step in [from, to], written to the response as it is read from the database.</summary>
    public static PushStreamHttpResult Steps(int runId, long from, long to, string format, RunExports exports, CancellationToken ct) =>
        format == Csv
            ? TypedResults.Stream(stream => exports.WriteStepsCsvAsync(runId, from, to, stream, ct), "text/csv; charset=utf-8", $"run{runId}-steps.csv")
            : TypedResults.Stream(stream => exports.WriteStepsJsonAsync(runId, from, to, stream, ct), "application/json; charset=utf-8", $"run{runId}-steps.json");
}
