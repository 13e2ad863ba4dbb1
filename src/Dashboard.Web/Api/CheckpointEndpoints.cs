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

        return app;
    }
}
