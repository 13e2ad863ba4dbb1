using System.Text.Json;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Training.Optimizers;
using Dashboard.Runs.Contracts;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Dashboard.Engine.Policies;

namespace Dashboard.ComponentTests.Support;

/// <summary>
/// A migrated SQLite file of one test's own, in a temporary folder, reached through the same connection string the app
/// uses. Migrating costs far more than copying a file, so it happens once per test run into a template each test copies.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private const string FileName = "dashboard.db";

    private static readonly string Root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "dashboard-component-tests", $"{Environment.ProcessId}");
    private static readonly Lazy<Task<string>> Template = new(CreateTemplateAsync);

    private readonly string _folder;

    private TestDatabase(string folder)
    {
        _folder = folder;
        Path = System.IO.Path.Combine(folder, FileName);
        ConnectionString = SqliteSetup.ConnectionString(Path);
    }

    public string Path { get; }

    public string ConnectionString { get; }

    public static async Task<TestDatabase> CreateAsync()
    {
        var template = await Template.Value;
        var folder = NewFolder();
        File.Copy(template, System.IO.Path.Combine(folder, FileName));
        return new TestDatabase(folder);
    }

    public DashboardDbContext CreateContext() => Open(ConnectionString);

    public async Task<int> CountRunsAsync()
    {
        await using var db = CreateContext();
        return await db.Runs.CountAsync();
    }

    /// <param name="withConfig">Changes to the run's training config (spirals, MLP, SGD at 0.01, seed 7).</param>
    public async Task<Run> AddRunAsync(
        string name, string status = RunStatus.Completed, int epochs = 5, Action<Run>? configure = null, Func<TrainingConfig, TrainingConfig>? withConfig = null)
    {
        var config = new TrainingConfig { Dataset = "spirals", Model = "mlp", Epochs = epochs, LearningRate = 0.01, Optimizer = OptimizerNames.Sgd, Seed = 7 };
        config = withConfig?.Invoke(config) ?? config;
        var run = new Run
        {
            Name = name,
            Status = status,
            Dataset = config.Dataset,
            Model = config.Model,
            Epochs = config.Epochs,
            ConfigJson = RunConfigCodec.Write(config),
            CreatedAt = DateTime.UtcNow,
        };
        configure?.Invoke(run);
        await using var db = CreateContext();
        db.Runs.Add(run);
        await db.SaveChangesAsync();
        return run;
    }

    /// <summary>Stores an epoch's metrics and moves the run's current epoch and best loss along, as the training observer does.</summary>
    public async Task<MetricDto> AddEpochAsync(int runId, int epoch, double loss, double valLoss, double accuracy, double valAccuracy)
    {
        await using var db = CreateContext();
        var row = new EpochMetric
        {
            RunId = runId,
            Epoch = epoch,
            Step = epoch * 10L,
            Loss = loss,
            ValLoss = valLoss,
            Accuracy = accuracy,
            ValAccuracy = valAccuracy,
            LearningRate = 0.01,
            DurationMs = 1500,
            SamplesPerSecond = 4000,
            CreatedAt = DateTime.UtcNow,
        };
        db.EpochMetrics.Add(row);
        var run = await db.Runs.SingleAsync(r => r.Id == runId);
        run.CurrentEpoch = epoch;
        if (run.BestValLoss is null || valLoss < run.BestValLoss)
        {
            run.BestValLoss = valLoss;
            run.BestValLossEpoch = epoch;
        }

        await db.SaveChangesAsync();
        return MetricDto.From(row);
    }

    /// <param name="metrics">Metrics besides valLoss, e.g. valAccuracy for a run monitoring it.</param>
    public async Task<CheckpointDto> AddCheckpointAsync(
        int runId,
        int epoch,
        double valLoss,
        string kind = CheckpointKind.Periodic,
        string status = CheckpointStatus.Durable,
        long sizeBytes = 2048,
        IReadOnlyDictionary<string, double>? metrics = null)
    {
        await using var db = CreateContext();
        var row = new Checkpoint
        {
            RunId = runId,
            Epoch = epoch,
            Step = epoch * 10L,
            MetricsJson = JsonSerializer.Serialize(new Dictionary<string, double>(metrics ?? new Dictionary<string, double>()) { ["valLoss"] = valLoss }, JsonDefaults.Options),
            Path = $"run-{runId:D6}/epoch{epoch:D3}-{kind}",
            SizeBytes = sizeBytes,
            Sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(epoch))),
            Kind = kind,
            Status = status,
            CreatedAt = DateTime.UtcNow,
        };
        db.Checkpoints.Add(row);
        await db.SaveChangesAsync();
        return CheckpointDto.From(row);
    }

    public async Task SetStatusAsync(int runId, string status)
    {
        await using var db = CreateContext();
        await db.Runs.Where(r => r.Id == runId).ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, status));
    }

    public ValueTask DisposeAsync()
    {
        // Pooled connections keep the file open; let them go before the folder is removed.
        using (var connection = new SqliteConnection(ConnectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        TryDelete(_folder);
        return ValueTask.CompletedTask;
    }

    private static DashboardDbContext Open(string connectionString)
    {
        var options = new DbContextOptionsBuilder<DashboardDbContext>();
        options.UseDashboardSqlite(connectionString);
        return new(options.Options);
    }

    private static async Task<string> CreateTemplateAsync()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(Root);
        var path = System.IO.Path.Combine(NewFolder(), FileName);
        var connectionString = SqliteSetup.ConnectionString(path);
        await using (var db = Open(connectionString))
        {
            await SqliteSetup.MigrateAsync(db, CancellationToken.None);

            // The file is in WAL mode: fold the log into the main file so a plain copy holds every migration.
            await db.Database.ExecuteSqlRawAsync("PRAGMA wal_checkpoint(TRUNCATE);");
        }

        using (var connection = new SqliteConnection(connectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        return path;
    }

    private static string NewFolder() => Directory.CreateDirectory(System.IO.Path.Combine(Root, Guid.NewGuid().ToString("N"))).FullName;

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; failing a test over it is not.
        }
    }
}
