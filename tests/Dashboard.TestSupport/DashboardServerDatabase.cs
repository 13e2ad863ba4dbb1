using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Data.Postgres;
using Dashboard.ServerProcess;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Dashboard.Engine.Policies;

namespace Dashboard.TestSupport;

/// <summary>
/// The dashboard's database (its SQLite file, or its PostgreSQL database when started on one), read and written from
/// outside the process. Extension members, because the launcher they
/// extend is shared with the benchmark and knows nothing of the database.
/// </summary>
public static class DashboardServerDatabase
{
    extension(DashboardServer server)
    {
        public string DatabasePath => Path.Combine(server.DataDirectory, "dashboard.db");

        /// <summary>True when the server was started with <c>Storage:Provider=postgres</c>.</summary>
        public bool OnPostgres => server.Settings.TryGetValue("Storage:Provider", out var provider) && provider == "postgres";

        /// <summary>Options for a context on the server's database, whichever provider holds it.</summary>
        public DbContextOptions<DashboardDbContext> DatabaseOptions(bool readOnly = false)
        {
            var options = new DbContextOptionsBuilder<DashboardDbContext>();
            if (server.OnPostgres)
            {
                options.UsePostgresStorage(server.Settings["ConnectionStrings:Postgres"]);
            }
            else
            {
                options.UseSqlite(readOnly
                    ? new SqliteConnectionStringBuilder { DataSource = server.DatabasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString()
                    : SqliteSetup.ConnectionString(server.DatabasePath));
            }

            return options.Options;
        }

        /// <summary>
        /// Reads the dashboard's database directly, typically while the process is down: what a crash or a shutdown left
        /// behind, before start-up reconciliation gets to change it.
        /// </summary>
        public async Task<T> ReadDatabaseAsync<T>(Func<DashboardDbContext, Task<T>> query)
        {
            await using var db = new DashboardDbContext(server.DatabaseOptions(readOnly: true));
            return await query(db);
        }

        /// <summary>
        /// Adds a finished run with <paramref name="steps"/> straight into the dashboard's database (which the running
        /// process has open, as both providers allow), for curves far longer than a test could train. Returns the run's id.
        /// </summary>
        /// <param name="branchOf">Makes the run a branch: of that run, from a checkpoint row at that step. The row is marked
        /// deleted, so nothing tries to load the files it has not got.</param>
        public async Task<int> SeedRunWithStepsAsync(string name, IReadOnlyList<StepRow> steps, (int RunId, long Step)? branchOf = null)
        {
            await using var db = new DashboardDbContext(server.DatabaseOptions());
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
