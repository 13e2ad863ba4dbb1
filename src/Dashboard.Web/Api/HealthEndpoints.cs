using Dashboard.Data;
using Dashboard.Engine.Checkpoints;
using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Plugins;
using Dashboard.Web.Security;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Web.Api;

public static class HealthEndpoints
{
    /// <summary><c>GET /healthz</c>: 200 when the database answers and the checkpoint folder takes a write.</summary>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", async (HttpContext context, IDbContextFactory<DashboardDbContext> dbFactory, CheckpointStore store, CheckpointVolume volume, PluginCatalog plugins, CancellationToken ct) =>
        {
            // The probe is open to anyone, but exception messages name server paths and files: only a signed-in caller
            // (or anyone, when no token is configured) reads them; the rest get the status and which part failed.
            var detailed = AccessTokenMiddleware.IsSignedIn(context);
            string Detail(Exception e) => detailed ? $": {e.Message}" : ".";
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
                problems.Add($"The database does not answer{Detail(e)}");
            }

            try
            {
                var probe = Path.Combine(store.Root, $".healthz-{Guid.NewGuid():N}");
                await File.WriteAllTextAsync(probe, "ok", ct);
                File.Delete(probe);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problems.Add($"The checkpoint folder is not writable{Detail(e)}");
            }

            // A writable folder can still be the wrong one: an empty mount point while the volume is away. The sentence
            // names the folder, so it is a detail like the exception messages above.
            if (volume.Problem is { } unusable)
            {
                problems.Add(detailed ? unusable : "The checkpoint folder is unusable.");
            }

            // A broken plugin costs only its own models: the server trains, serves and stores as ever, so it is reported
            // here but never turns the probe 503 (an orchestrator would restart a working server for nothing). Its folder
            // and exception message are details, like those above.
            var pluginProblems = plugins.Problems
                .Select(p => detailed ? $"Plugin {p.Plugin} ({p.Folder}): {p.Message}" : $"Plugin {p.Plugin} failed to load.")
                .ToList();
            return problems.Count == 0
                ? Results.Ok(new { status = "healthy", pluginProblems })
                : Results.Json(new { status = "unhealthy", problems, pluginProblems }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }).WithTags("Health");
        return app;
    }
}
