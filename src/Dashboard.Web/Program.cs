using Dashboard.Web;
using Dashboard.Web.Api;
using Dashboard.Web.Components;
using Dashboard.Web.Hubs;
using Dashboard.Web.Services;

var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = args,
    ContentRootPath = ContentRoot.Locate(),
});

// Static web assets (the framework's scripts, Plotly.Blazor's files) are served from the build output in every
// environment, so `dotnet run` works without a publish step.
builder.WebHost.UseStaticWebAssets();

builder.Services.AddDashboardCore();

// Start order matters: the database is migrated and reconciled before the relay and the job runner start.
builder.Services.AddHostedService<StartupService>();
builder.Services.AddHostedService<HubRelay>();
builder.Services.AddHostedService<TrainingJobService>();

builder.Services.AddSignalR();
builder.Services.AddProblemDetails();
builder.Services.AddOpenApi();
builder.Services.AddRazorComponents().AddInteractiveServerComponents();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseAntiforgery();

app.MapStaticAssets();
app.MapOpenApi();
app.MapHealthEndpoints();
app.MapRunEndpoints();
app.MapCheckpointEndpoints();
app.MapHub<TrainingHub>(TrainingHub.Path);
app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

app.Run();

/// <summary>Entry point, named so test hosts can refer to it.</summary>
public partial class Program;
