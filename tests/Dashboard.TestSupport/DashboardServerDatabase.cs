using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.ServerProcess;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Dashboard.Engine.Policies;

namespace Dashboard.TestSupport;

/// <summary>
/// The dashboard's SQLite file, read and written from outside the process. Extension members, because the launcher they
/// extend is shared with the benchmark and knows nothing of the database.
/// </summary>
public static class DashboardServerDatabase
{
    extension(DashboardServer server)
    {
        public string DatabasePath => Path.Combine(server.DataDirectory, "dashboard.db");

        /// <summary>
        /// Reads the dashboard's SQLite file directly, typically while the process is down: what a crash or a shutdown left
        /// behind, before start-up reconciliation gets to change it.
        /// </summary>
        public async Task<T> ReadDatabaseAsync<T>(Func<DashboardDbContext, Task<T>> query)
        {
            var options = new DbContextOptionsBuilder<DashboardDbContext>()
                .UseSqlite(new SqliteConnectionStringBuilder { DataSource = server.DatabasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString())
                .Options;
            await using var db = new DashboardDbContext(options);
            return await query(db);
        }

        /// <summary>
        /// Adds a finished run with <paramref name="steps"/> straight into the dashboard's SQLite file (which the running
        /// process has open, as SQLite allows), for curves far longer than a test could train. Returns the run's id.
        /// </summary>
        /// <param name="branchOf">Makes the run a branch: of that run, from a checkpoint row at that step. The row is marked
        /// deleted, so nothing tries to load the files it has not got.</param>
        public async Task<int> SeedRunWithStepsAsync(string name, IReadOnlyList<StepRow> steps, (int RunId, long Step)? branchOf = null)
        {
            var options = new DbContextOptionsBuilder<DashboardDbContext>()
                .UseSqlite(SqliteSetup.ConnectionString(server.DatabasePath))
                .Options;
            await using var db = new DashboardDbContext(options);
            var now = DateTime.UtcNow;
            Checkpoint? fork = null;
            if (branchOf is var (parentId, forkStep))
            {
                fork = new Checkpoint
                {
                    RunId = parentId,
                    Step = forkStep,
                    MetricsJson = "{}",
                    Path = "",
                    Kind = CheckpointKind.Manual,
                    Status = CheckpointStatus.Deleted,
                    CreatedAt = now,
                };
                db.Checkpoints.Add(fork);
                await db.SaveChangesAsync();
            }

            var run = new Run
            {
                Name = name,
                Status = RunStatus.Completed,
                Dataset = "spirals",
                Model = "mlp",
                Epochs = steps.Count == 0 ? 0 : steps[^1].Epoch,
                CurrentEpoch = steps.Count == 0 ? 0 : steps[^1].Epoch,
                ConfigJson = "{}",
                CreatedAt = now,
                StartedAt = now,
                FinishedAt = now,
                ParentRunId = fork?.RunId,
                ParentCheckpointId = fork?.Id,
            };
            db.Runs.Add(run);
            await db.SaveChangesAsync();
            await StepMetricStore.WriteAsync(db, run.Id, steps);
            return run.Id;
        }
    }
}
