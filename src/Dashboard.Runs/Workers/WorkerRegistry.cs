using System.Text.Json;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Models;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Options;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Dashboard.Runs.Workers;

/// <summary>The <c>Workers</c> table: training processes write their own row; pages and the API read them all.</summary>
public sealed class WorkerRegistry(IDbContextFactory<DashboardDbContext> dbFactory, IOptions<WorkerOptions> options, TimeProvider clock)
{
    /// <summary>What a worker says about itself when it starts.</summary>
    public sealed record Registration(
        string Name, string Host, string Device, int TorchThreads, IReadOnlyList<string> Queues, IReadOnlyList<string> Datasets, IReadOnlyList<string> Models, IReadOnlyList<PluginIdentity> Plugins);

    /// <summary>Creates or takes over the row of <paramref name="registration"/>'s name, as started now.</summary>
    public async Task RegisterAsync(Registration registration, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            var now = clock.GetUtcNow().UtcDateTime;
            var row = await db.Workers.SingleOrDefaultAsync(w => w.Name == registration.Name, cancellationToken);
            if (row is null)
            {
                row = new Worker { Name = registration.Name, Host = "", Device = "", Queues = "" };
                db.Workers.Add(row);
            }

            row.Host = registration.Host;
            row.Device = registration.Device;
            row.TorchThreads = registration.TorchThreads;
            row.Queues = string.Join(',', registration.Queues);
            row.DatasetsJson = JsonSerializer.Serialize(registration.Datasets, JsonDefaults.Options);
            row.ModelsJson = JsonSerializer.Serialize(registration.Models, JsonDefaults.Options);
            row.PluginsJson = JsonSerializer.Serialize(registration.Plugins, JsonDefaults.Options);
            row.StartedAt = now;
            row.LastHeartbeat = now;
            row.StoppedAt = null;
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                return;
            }
            catch (DbUpdateException) when (attempt == 0)
            {
                // Another process inserted the same name between our read and our insert: take its row over instead.
            }
        }
    }

    /// <summary>Says the worker is still alive; false when its row is gone (deleted by hand), so the caller registers again.</summary>
    public async Task<bool> BeatAsync(string name, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        var updated = await db.Workers.Where(w => w.Name == name)
            .ExecuteUpdateAsync(u => u.SetProperty(w => w.LastHeartbeat, now).SetProperty(w => w.StoppedAt, (DateTime?)null), cancellationToken);
        return updated == 1;
    }

    /// <summary>A clean shutdown: the worker is listed as gone at once instead of after the alive bound.</summary>
    public async Task MarkStoppedAsync(string name, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        await db.Workers.Where(w => w.Name == name).ExecuteUpdateAsync(u => u.SetProperty(w => w.StoppedAt, now), cancellationToken);
    }

    /// <summary>Every registered worker, the alive ones first, then by name, each with the runs it trains now.</summary>
    public async Task<IReadOnlyList<WorkerDto>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var workers = await db.Workers.AsNoTracking().ToListAsync(cancellationToken);
        var names = workers.Select(w => w.Name).ToList();
        var running = await db.Runs.AsNoTracking()
            .Where(r => r.Status == RunStatus.Running && r.Worker != null && names.Contains(r.Worker))
            .Select(r => new { r.Id, r.Worker })
            .ToListAsync(cancellationToken);
        var runsOf = running.ToLookup(r => r.Worker!, r => r.Id, StringComparer.Ordinal);
        var bound = clock.GetUtcNow().UtcDateTime - TimeSpan.FromSeconds(options.Value.AliveSeconds);
        return [.. workers
            .Select(w => new WorkerDto(
                w.Name,
                w.Host,
                w.Device,
                w.TorchThreads,
                [.. w.Queues.Split(',', StringSplitOptions.RemoveEmptyEntries)],
                Utc(w.StartedAt),
                Utc(w.LastHeartbeat),
                w.StoppedAt is { } stopped ? Utc(stopped) : null,
                w.StoppedAt is null && w.LastHeartbeat > bound,
                [.. runsOf[w.Name].Order()],
                Names(w.DatasetsJson),
                Names(w.ModelsJson),
                Plugins(w.PluginsJson)))
            .OrderByDescending(w => w.Alive)
            .ThenBy(w => w.Name, StringComparer.Ordinal)];
    }

    private static DateTime Utc(DateTime value) => DateTime.SpecifyKind(value, DateTimeKind.Utc);

    private static string[] Names(string json) => JsonSerializer.Deserialize<string[]>(json, JsonDefaults.Options) ?? [];

    // Empty in rows written before workers advertised plugins, until that worker registers again.
    private static PluginIdentity[] Plugins(string json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize<PluginIdentity[]>(json, JsonDefaults.Options) ?? [];
}
