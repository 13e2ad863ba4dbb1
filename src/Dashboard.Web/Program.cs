using Dashboard.Jobs;
using Dashboard.Runs;
using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Execution;
using Dashboard.Runs.Management;
using Dashboard.Runs.Monitoring;
using Dashboard.Runs.Options;
using Dashboard.Runs.Resilience;
using Dashboard.Runs.Workers;
using Dashboard.Web;
using Dashboard.Web.Api;
using Dashboard.Web.Components;
using Dashboard.Web.Hubs;
using Dashboard.Web.Security;
using Microsoft.Extensions.Options;

var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = args,
    ContentRootPath = ContentRoot.Locate(),
});

// Static web assets (the framework's scripts, Plotly.Blazor's files) are served from the build output in every
// environment, so `dotnet run` works without a publish step.
builder.WebHost.UseStaticWebAssets();

builder.Services.AddDashboardCore();
builder.Services.AddOptions<SecurityOptions>().BindConfiguration(SecurityOptions.Section);
builder.Services.AddSingleton<SessionCookies>();
try
{
    BindingGuard.Check(builder.Configuration, builder.Configuration.GetSection(SecurityOptions.Section).Get<SecurityOptions>() ?? new SecurityOptions());
}
catch (InvalidOperationException e)
{
    await Console.Error.WriteLineAsync($"The dashboard did not start: {e.Message}");
    return 2;
}

// Start order matters: the database is migrated and reconciled before the relay and the job runner start.
builder.Services.AddHostedService<StartupService>();
builder.Services.AddHostedService<HubRelay>();

// SQLite: the in-process channel and its job runner. PostgreSQL: the job engine, with a job server here unless
// Training:EmbeddedWorker is false (then only src/Dashboard.Worker processes train).
var embeddedWorker = builder.Configuration.GetValue($"{TrainingOptions.Section}:{nameof(TrainingOptions.EmbeddedWorker)}", true);
var jobEngine = builder.Services.AddDashboardJobs(builder.Configuration, runServer: embeddedWorker);
if (!jobEngine)
{
    builder.Services.AddHostedService<TrainingJobService>();
}
builder.Services.AddHostedService<SystemSampler>();
builder.Services.AddHostedService<CheckpointAuditService>();
builder.Services.AddHostedService<LeftoverSweep>();

// Whether the database answers, for the run pages of an instance that may train nothing (a worker's retry is its own).
builder.Services.AddHostedService(provider => provider.GetRequiredService<DatabaseProbe>());

// SIGTERM: a process that trains waits for its runs' interrupt checkpoints (Worker:ShutdownSeconds, also the embedded job
// server's wait); the host's 30 s default would end a half-written one. Invalid worker settings fail here, at start.
builder.Services.AddOptions<HostOptions>().Configure<IOptions<WorkerOptions>>((host, worker) => host.ShutdownTimeout = worker.Value.HostShutdownTimeout);

// Only a process that trains is a worker: a web app that merely queues for src/Dashboard.Worker is not listed as one.
if (!jobEngine || embeddedWorker)
{
    builder.Services.AddHostedService<WorkerHeartbeat>();
}

var signalR = builder.Services.AddSignalR();
try
{
    builder.AddScaleOut(signalR);
}
catch (InvalidOperationException e)
{
    await Console.Error.WriteLineAsync($"The dashboard did not start: {e.Message}");
    return 2;
}

builder.Services.AddSingleton<HubSubscriptions>();
builder.Services.AddProblemDetails(problems => problems.CustomizeProblemDetails = context =>
{
    if (context.Exception is { } e && DatabaseErrors.IsTransient(e))
    {
        context.ProblemDetails.Detail = "The database is unreachable (restarting or failing over); nothing was changed. Try again in a few seconds.";
        context.HttpContext.Response.Headers.RetryAfter = "5";

        // Open pages hear of the outage, and of its end, from the probe.
        context.HttpContext.RequestServices.GetRequiredService<DatabaseProbe>().Suspect();
    }
});
builder.Services.AddOpenApi();
builder.Services.AddRazorComponents().AddInteractiveServerComponents();

var app = builder.Build();

app.UseMiddleware<SecurityHeadersMiddleware>();
// A request Kestrel refuses while a route reads it (a body past its size limit, a broken chunk) is the client's error,
// answered with Kestrel's own status as a problem, not as a 500. A database that is away for a moment is a 503: the
// client may try again, and nothing was half done (every write is one transaction).
app.UseExceptionHandler(new ExceptionHandlerOptions
{
    StatusCodeSelector = e => e switch
    {
        BadHttpRequestException bad => bad.StatusCode,
        _ when DatabaseErrors.IsTransient(e) => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    },
});
app.UseStatusCodePages();
app.UseMiddleware<AccessTokenMiddleware>();
app.UseMiddleware<CrossSiteGuardMiddleware>();
app.UseAntiforgery();

app.MapStaticAssets();
app.MapOpenApi();
app.MapHealthEndpoints();
app.MapLoginEndpoints();
app.MapRunEndpoints();
app.MapRunDownloadEndpoints();
app.MapRunLogEndpoints();
app.MapCheckpointEndpoints();
app.MapDatasetEndpoints();
app.MapPluginEndpoints();
app.MapWeightsEndpoints();
app.MapWorkerEndpoints();
app.MapHub<TrainingHub>(TrainingHub.Path);
if (jobEngine)
{
    app.MapJobsDashboard();
}

app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

await app.RunAsync();
return 0;

/// <summary>Entry point, named so test hosts can refer to it.</summary>
public partial class Program;
