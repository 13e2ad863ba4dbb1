using System.Globalization;
using Dashboard.Data.Entities;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Exports;
using Dashboard.Runs.Launching;
using Dashboard.Runs.Management;
using Dashboard.Runs.Monitoring;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

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

        // Without limit and before: every matching run, as always. With either: one page, newest first (before = last id
        // seen). limit, before and archived are read as text so that "?limit=ten" is a field error like any other, not a
        // bare 400. sort and order default to created, desc: the order the list always had.
        runs.MapGet("/", async Task<Results<Ok<IReadOnlyList<RunDto>>, ValidationProblem>> (
            string? status, string? dataset, string? model, string? tag, string? q, string? archived, string? limit, string? before,
            string? sort, string? order, RunService service, CancellationToken ct) =>
        {
            var errors = new Dictionary<string, string[]>();
            if (status is not null && !RunStatus.All.Contains(status))
            {
                errors["status"] = [$"Unknown status '{status}'. Use one of: {string.Join(", ", RunStatus.All)}."];
            }

            CheckLength(dataset, "dataset", MaxFilterLength, errors);
            CheckLength(model, "model", MaxFilterLength, errors);
            CheckLength(q, "q", RunService.MaxNameLength, errors);
            if (!string.IsNullOrEmpty(tag) && !RunUpdateRules.IsTag(tag))
            {
                errors["tag"] = [$"A tag has 1 to {RunUpdateRules.MaxTagLength} characters, each a letter, digit, '-', '_', '.' or ':'."];
            }

            var includeArchived = false;
            if (archived is not null && !bool.TryParse(archived, out includeArchived))
            {
                errors["archived"] = ["archived must be true or false."];
            }

            var pageSize = ParseOptional(limit);
            if (pageSize is < 1 or > RunService.MaxPageSize || (limit is not null && pageSize is null))
            {
                errors["limit"] = [$"The limit must be a whole number between 1 and {RunService.MaxPageSize}."];
            }

            var beforeId = ParseOptional(before);
            if (beforeId is < 1 || (before is not null && beforeId is null))
            {
                errors["before"] = ["before is a run id, a whole number of 1 or more."];
            }

            var runOrder = ParseOrder(sort, order, errors);
            if (runOrder is not null && before is not null && !runOrder.PagesByIdCursor && !errors.ContainsKey("before"))
            {
                errors["before"] = ["before pages by run id, so it only works with the default order (sort=created, order=desc); "
                    + "with another sort, use limit alone or leave paging out."];
            }

            if (errors.Count > 0)
            {
                return TypedResults.ValidationProblem(errors);
            }

            var filter = new RunFilter(status, dataset, model, tag, q, includeArchived);
            return TypedResults.Ok(pageSize is null && beforeId is null
                ? await service.ListAsync(filter, runOrder, ct)
                : await service.ListPageAsync(filter, pageSize ?? RunService.DefaultPageSize, beforeId, runOrder, ct));
        });

        runs.MapGet("/{id:int}", async Task<Results<Ok<RunDto>, ProblemHttpResult>> (int id, RunService service, CancellationToken ct) =>
            await service.GetAsync(id, ct) is { } run ? TypedResults.Ok(run) : RunNotFound(id));

        // What a branch, fine-tune or run from weights changed: [{ path, parent, child }]; 404 without a parent.
        runs.MapGet("/{id:int}/config-diff", async (int id, RunConfigDiffs diffs, CancellationToken ct) =>
            ApiResults.ToHttp(await diffs.GetAsync(id, ct), TypedResults.Ok))
            .Produces<IReadOnlyList<ConfigChangeDto>>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        // With a format, the same rows as a file to download (see RunDownloads).
        runs.MapGet("/{id:int}/metrics", async Task<Results<Ok<IReadOnlyList<MetricDto>>, PushStreamHttpResult, ProblemHttpResult, ValidationProblem>> (
            int id, string? format, RunService service, IOptions<JsonOptions> jsonOptions, CancellationToken ct) =>
        {
            var kind = format is null ? null : RunDownloads.ParseFormat(format);
            if (format is not null && kind is null)
            {
                return RunDownloads.UnknownFormat(format);
            }

            if (await service.MetricsAsync(id, ct) is not { } metrics)
            {
                return RunNotFound(id);
            }

            return kind is null ? TypedResults.Ok(metrics) : RunDownloads.Metrics(id, metrics, kind, jsonOptions);
        });

        // Strings rather than numbers, so that "from=abc" is a field error like any other rather than a bare 400.
        // With a format, every step in the range (never buckets) streamed as a file.
        runs.MapGet("/{id:int}/steps", async Task<Results<Ok<StepSeriesDto>, PushStreamHttpResult, ProblemHttpResult, ValidationProblem>> (
            int id, string? from, string? to, string? buckets, string? format, RunService service, RunExports exports, CancellationToken ct) =>
        {
            var errors = new Dictionary<string, string[]>();
            var kind = format is null ? null : RunDownloads.ParseFormat(format);
            if (format is not null && kind is null)
            {
                errors["format"] = [RunDownloads.UnknownFormatMessage(format)];
            }

            if (format is not null && buckets is not null)
            {
                errors["buckets"] = ["A download has every step: buckets applies only without a format."];
            }

            var first = ParseStep(from, "from", 0, errors);
            var last = ParseStep(to, "to", long.MaxValue, errors);
            var count = 0;
            if (buckets is null)
            {
                count = RunService.DefaultStepBuckets;
            }
            else if (!int.TryParse(buckets, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > RunService.MaxStepBuckets)
            {
                errors["buckets"] = [$"buckets must be a whole number from 1 to {RunService.MaxStepBuckets}."];
            }

            if (errors.Count == 0 && first > last)
            {
                errors["to"] = [$"to ({last}) must not be below from ({first})."];
            }

            if (errors.Count > 0)
            {
                return TypedResults.ValidationProblem(errors);
            }

            if (kind is not null)
            {
                return await exports.ExistsAsync(id, ct) ? RunDownloads.Steps(id, first, last, kind, exports, ct) : RunNotFound(id);
            }

            return await service.StepsAsync(id, first, last, count, ct) is { } steps ? TypedResults.Ok(steps) : RunNotFound(id);
        });

        runs.MapGet("/{id:int}/checkpoints", async Task<Results<Ok<IReadOnlyList<CheckpointDto>>, ProblemHttpResult>> (int id, RunService service, CancellationToken ct) =>
            await service.CheckpointsAsync(id, ct) is { } checkpoints ? TypedResults.Ok(checkpoints) : RunNotFound(id));

        // CPU and memory are the whole process's (shared by runs training at once); samples/s is the run's own.
        runs.MapGet("/{id:int}/system", async Task<Results<Ok<IReadOnlyList<SystemSampleDto>>, ProblemHttpResult>> (int id, SystemSampleQueries samples, CancellationToken ct) =>
            await samples.ListAsync(id, ct) is { } list ? TypedResults.Ok(list) : RunNotFound(id));

        runs.MapPatch("/{id:int}", UpdateAsync)
            .Accepts<UpdateRunRequest>("application/json")
            .Produces<RunDto>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

        // 204 with the run, its metrics, steps and checkpoint files gone; 409 while it is queued or running, while it has
        // pinned checkpoints (unless force=true) and while other runs started from its checkpoints (they are named).
        runs.MapDelete("/{id:int}", async (int id, string? force, RunDeletion deletion, CancellationToken ct) =>
        {
            var forced = false;
            if (force is not null && !bool.TryParse(force, out forced))
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["force"] = ["force must be true or false."] });
            }

            return ApiResults.ToHttp(await deletion.DeleteAsync(id, forced, ct), _ => TypedResults.NoContent());
        })
            .Produces(StatusCodes.Status204NoContent)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        runs.MapPost("/{id:int}/stop", async (int id, RunService service, CancellationToken ct) =>
            ApiResults.ToHttp(await service.StopAsync(id, ct), run => TypedResults.Accepted($"/api/runs/{id}", run)));

        return app;
    }

    private static async Task<IResult> CreateAsync(HttpRequest request, RunLauncher launcher, CancellationToken ct)
    {
        var (body, error) = await ApiResults.ReadJsonAsync<CreateRunRequest>(request, optional: false, ct);
        return error ?? ApiResults.ToHttp(await launcher.CreateAsync(body!, ct), run => TypedResults.Created($"/api/runs/{run.Id}", run));
    }

    private static async Task<IResult> UpdateAsync(int id, HttpRequest request, RunService service, CancellationToken ct)
    {
        var (body, error) = await ApiResults.ReadJsonAsync<UpdateRunRequest>(request, optional: false, ct);
        return error ?? ApiResults.ToHttp(await service.UpdateAsync(id, body!, ct), TypedResults.Ok);
    }

    /// <summary>A step number from the query: absent gives <paramref name="fallback"/>, anything but a whole number ≥ 0 an error.</summary>
    private static long ParseStep(string? value, string field, long fallback, Dictionary<string, string[]> errors)
    {
        if (value is null)
        {
            return fallback;
        }

        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var step))
        {
            return step;
        }

        errors[field] = [$"{field} must be a step number: a whole number, 0 or more."];
        return fallback;
    }

    /// <summary>Dataset and model names are at most this long in the database, so a longer filter cannot match.</summary>
    private const int MaxFilterLength = 100;

    private static void CheckLength(string? value, string field, int max, Dictionary<string, string[]> errors)
    {
        if (value?.Length > max)
        {
            errors[field] = [$"{field} may have at most {max} characters."];
        }
    }

    /// <summary>The list's order from <c>?sort=&amp;order=</c>, or null after adding a field error for each bad one.</summary>
    private static RunOrder? ParseOrder(string? sort, string? order, Dictionary<string, string[]> errors)
    {
        var (runOrder, sortError, orderError) = RunOrder.Parse(sort, order);
        if (sortError is not null)
        {
            errors["sort"] = [sortError];
        }

        if (orderError is not null)
        {
            errors["order"] = [orderError];
        }

        return runOrder;
    }

    private static int? ParseOptional(string? value) =>
        int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var parsed) ? parsed : null;

    private static ProblemHttpResult RunNotFound(int id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"There is no run {id}.");
}
