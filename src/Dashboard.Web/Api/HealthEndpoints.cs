using Dashboard.Data;
using Dashboard.Engine.Checkpoints;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Web.Api;

public static class HealthEndpoints
{
    /// <summary><c>GET /healthz</c>: 200 when the database answers and the checkpoint folder takes a write.</summary>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", async (IDbContextFactory<DashboardDbContext> dbFactory, CheckpointStore store, CheckpointVolume volume, CancellationToken ct) =>
        {
            var problems = new List<string>();
            try
            {
                await using var db = await dbFactory.CreateDbContextAsync(ct);
                if (!await db.Database.CanConnectAsync(ct) || await db.Database.ExecuteSqlRawAsync("SELECT 1", ct) < -1)
                {
                    problems.Add("The database does not answer.");
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                problems.Add($"The database does not answer: {e.Message}");
            }

            try
            {
                var probe = Path.Combine(store.Root, $".healthz-{Guid.NewGuid():N}");
                await File.WriteAllTextAsync(probe, "ok", ct);
                File.Delete(probe);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problems.Add($"The checkpoint folder is not writable: {e.Message}");
            }

            // A writable folder can still be the wrong one: an empty mount point while the volume is away.
            if (volume.Problem is { } unusable)
            {
                problems.Add(unusable);
            }

            return problems.Count == 0
                ? Results.Ok(new { status = "healthy" })
                : Results.Json(new { status = "unhealthy", problems }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }).WithTags("Health");
        return app;
    }
}
