using Dashboard.Data;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Data;
using Dashboard.Engine.Export;
using Dashboard.Engine.Models;
using Dashboard.Engine.Training;
using Dashboard.Web;
using Dashboard.Web.Api;
using Dashboard.Web.Components;
using Dashboard.Web.Hubs;
using Dashboard.Web.Options;
using Dashboard.Web.Services;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = args,
    ContentRootPath = ContentRoot.Locate(),
});

// Static web assets (the framework's scripts, Plotly.Blazor's files) are served from the build output in every
// environment, so `dotnet run` works without a publish step.
builder.WebHost.UseStaticWebAssets();

builder.Services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section);
builder.Services.AddOptions<TrainingOptions>().BindConfiguration(TrainingOptions.Section).ValidateDataAnnotations().ValidateOnStart();

builder.Services.AddDbContextFactory<DashboardDbContext>((services, options) =>
    options.UseSqlite(SqliteSetup.ConnectionString(services.GetRequiredService<IOptions<StorageOptions>>().Value.DatabasePath)));

builder.Services.AddSingleton(services =>
{
    var mnist = services.GetRequiredService<IOptions<TrainingOptions>>().Value.MnistPath;
    return DatasetRegistry.CreateDefault(string.IsNullOrWhiteSpace(mnist) ? null : Path.GetFullPath(mnist));
});
builder.Services.AddSingleton(_ => ModelRegistry.CreateDefault());
builder.Services.AddSingleton<TrainingConfigValidator>();
builder.Services.AddSingleton<Trainer>();
builder.Services.AddSingleton<CheckpointExporter>();
builder.Services.AddSingleton(services => new CheckpointStore(services.GetRequiredService<IOptions<StorageOptions>>().Value.CheckpointPath));

builder.Services.AddSingleton<TrainingEventBroadcaster>();
builder.Services.AddSingleton<RunQueue>();
builder.Services.AddSingleton<RunExecutor>();
builder.Services.AddSingleton<RunService>();
builder.Services.AddSingleton<CheckpointService>();

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
