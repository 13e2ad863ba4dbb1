using Dashboard.Runs.Workers;

namespace Dashboard.Web.Api;

/// <summary><c>/api/workers</c>: the processes that train runs, with their heartbeats and the runs they train now.</summary>
public static class WorkerEndpoints
{
    public static IEndpointRouteBuilder MapWorkerEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/api/workers").WithTags("Workers")
            .MapGet("", async (WorkerRegistry workers, CancellationToken ct) => TypedResults.Ok(await workers.ListAsync(ct)));
        return app;
    }
}
