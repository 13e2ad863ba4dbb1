using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.IntegrationTests;

/// <summary>
/// A run whose stored file name template cannot name a checkpoint (one saved before templates were bounded, so the API
/// never checked it): the checkpoint row ends missing instead of staying writing, the run ends failed with a message that
/// names the template, and a restart with auto-resume leaves it failed rather than training it into the same failure.
/// </summary>
public sealed class CheckpointNamingTests : IAsyncLifetime
{
    private DashboardServer _server = null!;

    public async Task InitializeAsync() => _server = await DashboardServer.StartAsync(new Dictionary<string, string>
    {
        ["Training:MaxConcurrentRuns"] = "1",
        ["Training:Device"] = "cpu",
        ["Training:TorchThreads"] = "1",
        ["Training:AutoResume"] = "true",
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task StoredRun_TemplateWidthPastIntMax_FailsTheRunWithAClearErrorAndIsNotResumed()
    {
        // A valid run first, for a configuration exactly as the server stores it.
        var template = await _server.CreateRunAsync(new
        {
            name = "template-source",
            dataset = "spirals",
            model = "mlp",
            epochs = 1,
            seed = 3,
            checkpoint = new { everyEpochs = 1, fileNameTemplate = "epoch{epoch:03d}" },
        });
        await _server.WaitForRunStatusAsync(template.Id, "completed");
        await _server.StopAsync();

        int runId;
        await using (var db = Open())
        {
            var source = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == template.Id);
            Assert.Contains("epoch{epoch:03d}", source.ConfigJson, StringComparison.Ordinal);
            var run = new Run
            {
                Name = "unnameable",
                Status = RunStatus.Queued,
                Dataset = source.Dataset,
                Model = source.Model,
                Epochs = source.Epochs,
                ConfigJson = source.ConfigJson.Replace("epoch{epoch:03d}", "epoch{epoch:09999999999d}", StringComparison.Ordinal),
                ModelSpecJson = source.ModelSpecJson,
                CreatedAt = DateTime.UtcNow,
            };
            db.Runs.Add(run);
            await db.SaveChangesAsync();
            runId = run.Id;
        }

        await _server.RestartAsync();
        var failed = await _server.WaitForRunStatusAsync(runId, "failed");
        Assert.Contains("could not be named", failed.Error, StringComparison.Ordinal);
        Assert.Contains("fileNameTemplate", failed.Error, StringComparison.Ordinal);
        Assert.Contains("width", failed.Error, StringComparison.Ordinal);

        var statuses = await _server.ReadDatabaseAsync(db => db.Checkpoints.Where(c => c.RunId == runId).Select(c => c.Status).ToListAsync());
        Assert.Equal([CheckpointStatus.Missing], statuses);

        // Auto-resume takes interrupted runs only: a failed one stays failed across a restart.
        await _server.StopAsync();
        await _server.RestartAsync();
        await Task.Delay(TimeSpan.FromSeconds(2));
        var after = await _server.GetRunAsync(runId);
        Assert.Equal("failed", after.Status);
        Assert.Equal(failed.Error, after.Error);
    }

    private DashboardDbContext Open() => new(new DbContextOptionsBuilder<DashboardDbContext>()
        .UseSqlite(SqliteSetup.ConnectionString(_server.DatabasePath))
        .Options);
}
