using Dashboard.Data.Entities;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Data;

public sealed class DashboardDbContext(DbContextOptions<DashboardDbContext> options) : DbContext(options)
{
    public DbSet<Run> Runs => Set<Run>();

    public DbSet<EpochMetric> EpochMetrics => Set<EpochMetric>();

    public DbSet<Checkpoint> Checkpoints => Set<Checkpoint>();

    public DbSet<StepMetric> StepMetrics => Set<StepMetric>();

    public DbSet<StepMetricBlock> StepMetricBlocks => Set<StepMetricBlock>();

    public DbSet<RunLogEntry> RunLogEntries => Set<RunLogEntry>();
    public DbSet<RunSystemSample> RunSystemSamples => Set<RunSystemSample>();

    public DbSet<Worker> Workers => Set<Worker>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Run>(run =>
        {
            run.Property(r => r.Name).HasMaxLength(200);
            run.Property(r => r.Status).HasMaxLength(20);
            run.Property(r => r.Dataset).HasMaxLength(100);
            run.Property(r => r.Model).HasMaxLength(100);
            run.Property(r => r.Device).HasMaxLength(40);
            run.Property(r => r.Worker).HasMaxLength(200);
            run.Property(r => r.TagsJson).HasDefaultValue("[]");
            run.Property(r => r.Notes).HasDefaultValue("");
            run.Property(r => r.Queue).HasMaxLength(50).HasDefaultValue("default");
            run.HasIndex(r => r.Status);
            run.HasMany(r => r.Metrics).WithOne().HasForeignKey(m => m.RunId).OnDelete(DeleteBehavior.Cascade);
            run.HasMany(r => r.Checkpoints).WithOne().HasForeignKey(c => c.RunId).OnDelete(DeleteBehavior.Cascade);
            run.HasOne<Run>().WithMany().HasForeignKey(r => r.ParentRunId).OnDelete(DeleteBehavior.Restrict);
            run.HasOne<Checkpoint>().WithMany().HasForeignKey(r => r.ParentCheckpointId).OnDelete(DeleteBehavior.Restrict);
            run.HasOne<Checkpoint>().WithMany().HasForeignKey(r => r.StartCheckpointId).OnDelete(DeleteBehavior.Restrict);
        });

        modelBuilder.Entity<EpochMetric>(metric =>
        {
            metric.HasIndex(m => new { m.RunId, m.Epoch }).IsUnique();
        });

        // The key is the only index: range reads by (run, step) use it, and a run has 100,000s of rows, so no surrogate id.
        modelBuilder.Entity<StepMetric>(step =>
        {
            step.HasKey(s => new { s.RunId, s.Step });
            step.HasOne<Run>().WithMany().HasForeignKey(s => s.RunId).OnDelete(DeleteBehavior.Cascade);
        });

        // Like the steps it sums up: keyed by (run, block), gone with its run.
        modelBuilder.Entity<StepMetricBlock>(block =>
        {
            block.HasKey(b => new { b.RunId, b.Block });
            block.HasOne<Run>().WithMany().HasForeignKey(b => b.RunId).OnDelete(DeleteBehavior.Cascade);
        });

        // Read by run in line order, and counted by run to cap a run's log: (run, id) serves both.
        modelBuilder.Entity<RunLogEntry>(line =>
        {
            line.Property(l => l.Level).HasMaxLength(10);
            line.HasIndex(l => new { l.RunId, l.Id });
            line.HasOne<Run>().WithMany().HasForeignKey(l => l.RunId).OnDelete(DeleteBehavior.Cascade);
        });

        // Read per run in time order, thinned per run, gone with its run.
        modelBuilder.Entity<RunSystemSample>(sample =>
        {
            sample.HasIndex(s => new { s.RunId, s.Time });
            sample.HasOne<Run>().WithMany().HasForeignKey(s => s.RunId).OnDelete(DeleteBehavior.Cascade);
        });

        // One row per worker name: a restarted worker updates its own row instead of adding another.
        modelBuilder.Entity<Worker>(worker =>
        {
            worker.Property(w => w.Name).HasMaxLength(200);
            worker.Property(w => w.Host).HasMaxLength(200);
            worker.Property(w => w.Device).HasMaxLength(40);
            worker.Property(w => w.Queues).HasMaxLength(400);
            worker.HasIndex(w => w.Name).IsUnique();
        });

        modelBuilder.Entity<Checkpoint>(checkpoint =>
        {
            checkpoint.Property(c => c.Kind).HasMaxLength(20);
            checkpoint.Property(c => c.Status).HasMaxLength(20);
            checkpoint.Property(c => c.Sha256).HasMaxLength(64);
            checkpoint.Property(c => c.Path).HasMaxLength(400);
            checkpoint.HasIndex(c => new { c.RunId, c.Epoch });
            checkpoint.HasIndex(c => c.Status);
        });
    }
}
