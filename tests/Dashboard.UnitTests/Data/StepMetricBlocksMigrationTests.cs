using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.UnitTests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Dashboard.UnitTests.Data;

/// <summary>The migration that adds the step blocks, on a database whose steps were stored before it.</summary>
public sealed class StepMetricBlocksMigrationTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task MigrateAsync_StepsStoredBeforeTheBlocks_BackfillsThemAndAnswersAsTheRowsDo()
    {
        await MigrateToTheOneBeforeBlocksAsync();
        var random = new Random(7);
        var runs = new Dictionary<int, List<(long Step, double Loss)>>();
        foreach (var (first, count) in new[] { (1L, 30_000), (5_001L, 700) })
        {
            var rows = new List<(long Step, double Loss)>();
            for (var step = first; rows.Count < count; step += random.Next(60) == 0 ? random.Next(2, 40) : 1)
            {
                rows.Add((step, random.Next(300) == 0 ? 25 * random.NextDouble() : (2.0 * Math.Exp(-step / 9000.0)) + (0.05 * random.NextDouble())));
            }

            runs[await AddRunWithRowsAsync(rows)] = rows;
        }

        await _database.MigrateAsync();

        await using var db = _database.CreateContext();
        foreach (var (runId, rows) in runs)
        {
            StepOracle.AssertSame(StepOracle.Blocks(runId, rows), await db.StepMetricBlocks.Where(b => b.RunId == runId).OrderBy(b => b.Block).ToListAsync());
            foreach (var (from, to, buckets) in new[] { (0L, long.MaxValue, 2000), (0L, long.MaxValue, 333), (0L, long.MaxValue, 7), (4_321L, 20_000L, 97), (5_100L, 5_400L, 1000), (5_100L, 5_400L, 10) })
            {
                var series = await StepMetricStore.QueryAsync(db, runId, from, to, buckets);
                StepOracle.AssertSame(StepOracle.Series(rows, from, to, buckets), series, $"run {runId}, steps {from}..{to} in {buckets} buckets");
            }
        }
    }

    /// <summary>A database as the release before the blocks left it.</summary>
    private async Task MigrateToTheOneBeforeBlocksAsync()
    {
        await using var db = _database.CreateContext();
        var migrations = db.Database.GetMigrations().ToList();
        var blocks = migrations.FindIndex(m => m.EndsWith("_StepMetricBlocks", StringComparison.Ordinal));
        Assert.True(blocks > 0, $"No migration adds the step blocks: {string.Join(", ", migrations)}");
        await db.GetService<IMigrator>().MigrateAsync(migrations[blocks - 1]);
        Assert.DoesNotContain("StepMetricBlocks", await _database.QueryAsync("SELECT name FROM sqlite_master WHERE type = 'table'"));
    }

    /// <summary>A run and its steps, inserted the way that release's store did: rows only.</summary>
    /// <remarks>
    /// Plain SQL, not the entity: the entity has columns of later migrations, which this older schema lacks.
    /// </remarks>
    private async Task<int> AddRunWithRowsAsync(List<(long Step, double Loss)> rows)
    {
        int runId;
        await using (var insert = new SqliteConnection(_database.ConnectionString))
        {
            await insert.OpenAsync();
            await using var run = insert.CreateCommand();
            run.CommandText = """
                INSERT INTO Runs (Name, Status, Dataset, Model, Epochs, CurrentEpoch, Device, ConfigJson, CreatedAt)
                VALUES ('before-blocks', $status, 'spirals', 'mlp', 1, 0, '', '{}', $created) RETURNING Id
                """;
            run.Parameters.AddWithValue("$status", RunStatus.Completed);
            run.Parameters.AddWithValue("$created", DateTime.UtcNow);
            runId = Convert.ToInt32(await run.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
        }

        await using var connection = new SqliteConnection(_database.ConnectionString);
        await connection.OpenAsync();
        await using var transaction = connection.BeginTransaction();
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO StepMetrics (RunId, Step, Epoch, Loss) VALUES ($run, $step, 1, $loss)";
        command.Parameters.AddWithValue("$run", runId);
        var step = command.Parameters.AddWithValue("$step", 0L);
        var loss = command.Parameters.AddWithValue("$loss", 0.0);
        foreach (var row in rows)
        {
            (step.Value, loss.Value) = (row.Step, row.Loss);
            await command.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        return runId;
    }
}
