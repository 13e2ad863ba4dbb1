using Dashboard.Data.Entities;
using Dashboard.UnitTests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.UnitTests.Data;

public sealed class DashboardDbContextTests : IAsyncLifetime, IDisposable
{
    private readonly TempDatabase _database = new();

    public Task InitializeAsync() => _database.MigrateAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task MigrateAsync_NewFile_RecordsEveryMigration()
    {
        var migrations = await _database.QueryAsync("SELECT MigrationId FROM __EFMigrationsHistory ORDER BY MigrationId");

        Assert.EndsWith("_Initial", migrations[0]);
        await using var db = _database.CreateContext();
        Assert.Equal(db.Database.GetMigrations(), migrations);
    }

    [Fact]
    public async Task MigrateAsync_NewFile_CreatesEveryTable()
    {
        var tables = await _database.QueryAsync("SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, 2) <> '__' AND name NOT LIKE 'sqlite_%' ORDER BY name");

        Assert.Equal(["Checkpoints", "EpochMetrics", "RunLogEntries", "RunSystemSamples", "Runs", "StepMetricBlocks", "StepMetrics", "Workers"], tables);
    }

    [Fact]
    public async Task MigrateAsync_NewFile_SwitchesToWriteAheadLog()
    {
        Assert.Equal(["wal"], await _database.QueryAsync("PRAGMA journal_mode"));
    }

    [Fact]
    public async Task MigrateAsync_SecondTime_ChangesNothing()
    {
        var before = await _database.QueryAsync("SELECT MigrationId FROM __EFMigrationsHistory ORDER BY MigrationId");

        await _database.MigrateAsync();

        Assert.Equal(before, await _database.QueryAsync("SELECT MigrationId FROM __EFMigrationsHistory ORDER BY MigrationId"));
    }

    [Fact]
    public void Model_ComparedWithMigrations_HasNoPendingChanges()
    {
        using var db = _database.CreateContext();

        Assert.False(db.Database.HasPendingModelChanges(), "The model changed without a migration: run `dotnet ef migrations add`.");
    }

    [Fact]
    public async Task SaveChanges_RunWithMetricsAndCheckpoints_ReadsBackInFreshContext()
    {
        var runId = await AddRunAsync(epochs: 2, checkpoints: 1);

        await using var db = _database.CreateContext();
        var run = await db.Runs.Include(r => r.Metrics).Include(r => r.Checkpoints).SingleAsync(r => r.Id == runId);
        Assert.Equal("spirals-mlp", run.Name);
        Assert.Equal(RunStatus.Running, run.Status);
        Assert.Equal(new DateTime(2026, 1, 2, 3, 4, 5), run.CreatedAt);
        Assert.Equal([1, 2], run.Metrics.OrderBy(m => m.Epoch).Select(m => m.Epoch));
        Assert.Equal(0.5, run.Metrics.Single(m => m.Epoch == 2).ValLoss);
        Assert.Null(run.Metrics.Single(m => m.Epoch == 1).Accuracy);
        var checkpoint = Assert.Single(run.Checkpoints);
        Assert.Equal(("run-000001/epoch001-periodic", CheckpointStatus.Durable, new string('a', 64)), (checkpoint.Path, checkpoint.Status, checkpoint.Sha256));
    }

    [Fact]
    public async Task SaveChanges_SecondMetricForSameEpoch_ThrowsDbUpdateException()
    {
        var runId = await AddRunAsync(epochs: 1, checkpoints: 0);
        await using var db = _database.CreateContext();
        db.EpochMetrics.Add(Metric(runId, epoch: 1));

        var error = await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());

        var sqlite = Assert.IsType<SqliteException>(error.InnerException);
        Assert.Contains("UNIQUE", sqlite.Message);
    }

    [Fact]
    public async Task SaveChanges_SameEpochInAnotherRun_IsAllowed()
    {
        var first = await AddRunAsync(epochs: 1, checkpoints: 0);
        var second = await AddRunAsync(epochs: 1, checkpoints: 0);

        await using var db = _database.CreateContext();
        Assert.Equal(2, await db.EpochMetrics.CountAsync(m => m.Epoch == 1 && (m.RunId == first || m.RunId == second)));
    }

    [Fact]
    public async Task SaveChanges_MetricForMissingRun_ThrowsDbUpdateException()
    {
        await using var db = _database.CreateContext();
        db.EpochMetrics.Add(Metric(runId: 999, epoch: 1));

        await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
    }

    [Fact]
    public async Task ExecuteDelete_Run_CascadesToMetricsAndCheckpointsInTheDatabase()
    {
        var doomed = await AddRunAsync(epochs: 3, checkpoints: 2);
        var kept = await AddRunAsync(epochs: 1, checkpoints: 1);

        await using (var db = _database.CreateContext())
        {
            Assert.Equal(1, await db.Runs.Where(r => r.Id == doomed).ExecuteDeleteAsync());
        }

        Assert.Equal([kept.ToString()], await _database.QueryAsync("SELECT DISTINCT RunId FROM EpochMetrics"));
        Assert.Equal([kept.ToString()], await _database.QueryAsync("SELECT DISTINCT RunId FROM Checkpoints"));
    }

    [Fact]
    public async Task Remove_TrackedRun_DeletesItsMetricsAndCheckpoints()
    {
        var runId = await AddRunAsync(epochs: 2, checkpoints: 2);

        await using (var db = _database.CreateContext())
        {
            db.Runs.Remove(await db.Runs.SingleAsync(r => r.Id == runId));
            await db.SaveChangesAsync();
        }

        Assert.Equal(["0"], await _database.QueryAsync("SELECT COUNT(*) FROM EpochMetrics"));
        Assert.Equal(["0"], await _database.QueryAsync("SELECT COUNT(*) FROM Checkpoints"));
    }

    [Fact]
    public async Task ExecuteDelete_RunThatIsAParent_IsRefused()
    {
        var parent = await AddRunAsync(epochs: 1, checkpoints: 1);
        await using var db = _database.CreateContext();
        var checkpointId = await db.Checkpoints.Where(c => c.RunId == parent).Select(c => c.Id).SingleAsync();
        var child = NewRun();
        child.ParentRunId = parent;
        child.ParentCheckpointId = checkpointId;
        db.Runs.Add(child);
        await db.SaveChangesAsync();

        var error = await Assert.ThrowsAsync<SqliteException>(() => db.Runs.Where(r => r.Id == parent).ExecuteDeleteAsync());

        Assert.Contains("FOREIGN KEY", error.Message);
    }

    private async Task<int> AddRunAsync(int epochs, int checkpoints)
    {
        await using var db = _database.CreateContext();
        var run = NewRun();
        db.Runs.Add(run);
        await db.SaveChangesAsync();
        for (var epoch = 1; epoch <= epochs; epoch++)
        {
            run.Metrics.Add(Metric(run.Id, epoch));
        }

        for (var i = 1; i <= checkpoints; i++)
        {
            run.Checkpoints.Add(new Checkpoint
            {
                RunId = run.Id,
                Epoch = i,
                Step = i * 10,
                MetricsJson = """{"loss":0.5}""",
                Path = $"run-{run.Id:D6}/epoch{i:D3}-periodic",
                SizeBytes = 1234,
                Sha256 = new string('a', 64),
                Kind = "periodic",
                Status = CheckpointStatus.Durable,
                CreatedAt = DateTime.UtcNow,
            });
        }

        await db.SaveChangesAsync();
        return run.Id;
    }

    private static Run NewRun() => new()
    {
        Name = "spirals-mlp",
        Status = RunStatus.Running,
        Dataset = "spirals",
        Model = "mlp",
        Epochs = 5,
        ConfigJson = "{}",
        CreatedAt = new DateTime(2026, 1, 2, 3, 4, 5),
    };

    private static EpochMetric Metric(int runId, int epoch) => new()
    {
        RunId = runId,
        Epoch = epoch,
        Step = epoch * 10,
        Loss = 1.0 / epoch,
        ValLoss = 1.0 / epoch,
        Accuracy = epoch == 1 ? null : 0.9,
        ValAccuracy = 0.8,
        LearningRate = 0.001,
        DurationMs = 12.5,
        SamplesPerSecond = 1000,
        CreatedAt = DateTime.UtcNow,
    };
}
