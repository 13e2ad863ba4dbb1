using Dashboard.Runs.Management;

namespace Dashboard.Web.Api;

/// <summary><c>/api/models</c> (built-in and plugin architectures with their hyperparameters) and <c>/api/plugins</c>.</summary>
public static class PluginEndpoints
{
    public static IEndpointRouteBuilder MapPluginEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/models", (RunCatalog catalog) => TypedResults.Ok(catalog.Models())).WithTags("Models");
        app.MapGet("/api/plugins", (RunCatalog catalog) => TypedResults.Ok(catalog.Plugins())).WithTags("Models");
        return app;
    }
}
