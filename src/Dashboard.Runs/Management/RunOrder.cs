using System.Linq.Expressions;
using Dashboard.Data.Entities;

namespace Dashboard.Runs.Management;

/// <summary>What the run list is sorted by (<c>?sort=</c>).</summary>
public enum RunSortKey
{
    /// <summary>Creation order, which is id order: ids are handed out as runs are created.</summary>
    Created,

    /// <summary>The run's lowest validation loss; runs without one come last in either direction.</summary>
    BestValLoss,

    /// <summary>FinishedAt − StartedAt, or now − StartedAt while unfinished; never-started runs come last in either direction.</summary>
    Duration,
}

/// <summary>The run list's order: a key and a direction, ties broken by id in the same direction.</summary>
/// <param name="Descending">True (the default) puts the largest first: newest, highest loss, longest.</param>
public sealed record RunOrder(RunSortKey Sort = RunSortKey.Created, bool Descending = true)
{
    /// <summary>Newest first: the list's order before sorting existed, and still its default.</summary>
    public static RunOrder Default { get; } = new();

    /// <summary>The names <c>?sort=</c> accepts, in the API's spelling.</summary>
    public static IReadOnlyList<string> SortNames { get; } = ["created", "bestValLoss", "duration"];

    /// <summary>The names <c>?order=</c> accepts.</summary>
    public static IReadOnlyList<string> OrderNames { get; } = ["asc", "desc"];

    /// <summary>
    /// Paging by <c>before</c> (a run id) is a keyset cursor on the id, which is only the list's order when sorted by
    /// creation, newest first; any other order would skip or repeat runs across pages.
    /// </summary>
    public bool PagesByIdCursor => this == Default;

    /// <summary>The key named <paramref name="name"/> (exact spelling, as in the API), or null when there is none.</summary>
    public static RunSortKey? ParseSort(string name) => name switch
    {
        "created" => RunSortKey.Created,
        "bestValLoss" => RunSortKey.BestValLoss,
        "duration" => RunSortKey.Duration,
        _ => null,
    };

    /// <summary>True for "desc", false for "asc", null for anything else.</summary>
    public static bool? ParseDescending(string name) => name switch
    {
        "desc" => true,
        "asc" => false,
        _ => null,
    };

    /// <summary>
    /// The order <c>?sort=&amp;order=</c> name (absent = the default), or null with a message for each bad one; the API and
    /// the Runs page both read the URL through here, so they accept and refuse the same words.
    /// </summary>
    public static (RunOrder? Order, string? SortError, string? OrderError) Parse(string? sort, string? order)
    {
        var key = sort is null ? RunSortKey.Created : ParseSort(sort);
        var descending = order is null ? true : ParseDescending(order);
        return (
            key is { } k && descending is { } d ? new RunOrder(k, d) : null,
            key is null ? $"Unknown sort '{sort}'. Use one of: {string.Join(", ", SortNames)}." : null,
            descending is null ? $"Unknown order '{order}'. Use one of: {string.Join(", ", OrderNames)}." : null);
    }

    /// <summary>The name of <paramref name="sort"/> as <c>?sort=</c> spells it.</summary>
    public static string NameOf(RunSortKey sort) => SortNames[(int)sort];

    /// <summary>
    /// Orders <paramref name="query"/> in SQL. The missing-value flag is the first key so those runs stay last whatever the
    /// direction; the id is the last so equal values still come in one stable order.
    /// </summary>
    /// <param name="onPostgres">The query runs on PostgreSQL, which subtracts timestamps itself; SQLite needs Ticks.</param>
    public IOrderedQueryable<Run> Apply(IQueryable<Run> query, DateTime now, bool onPostgres)
    {
        switch (Sort)
        {
            case RunSortKey.BestValLoss:
                var byLoss = query.OrderBy(r => r.BestValLoss == null ? 1 : 0);
                byLoss = Descending ? byLoss.ThenByDescending(r => r.BestValLoss) : byLoss.ThenBy(r => r.BestValLoss);
                return Descending ? byLoss.ThenByDescending(r => r.Id) : byLoss.ThenBy(r => r.Id);
            case RunSortKey.Duration:
                var byDuration = query.OrderBy(r => r.StartedAt == null ? 1 : 0);
                var milliseconds = onPostgres ? PostgresMilliseconds(now) : SqliteMilliseconds(now);
                byDuration = Descending ? byDuration.ThenByDescending(milliseconds) : byDuration.ThenBy(milliseconds);
                return Descending ? byDuration.ThenByDescending(r => r.Id) : byDuration.ThenBy(r => r.Id);
            default:
                return Descending ? query.OrderByDescending(r => r.Id) : query.OrderBy(r => r.Id);
        }
    }

    // Ticks becomes julianday() arithmetic in SQLite, so the subtraction runs in the query, not in memory. Those are
    // floating-point days: two equal durations at different times of day differ in their last bits, so the difference is
    // rounded to whole milliseconds, or equal durations would not tie and fall back to the id.
    private static Expression<Func<Run, double>> SqliteMilliseconds(DateTime now) =>
        r => Math.Round((double)((r.FinishedAt ?? now).Ticks - r.StartedAt!.Value.Ticks) / TimeSpan.TicksPerMillisecond);

    // PostgreSQL has no translation of Ticks; it subtracts two timestamps into an exact interval, whose epoch is seconds.
    // Rounded like SQLite's, so both providers order equal durations by id.
    private static Expression<Func<Run, double>> PostgresMilliseconds(DateTime now) =>
        r => Math.Round(((r.FinishedAt ?? now) - r.StartedAt!.Value).TotalMilliseconds);
}
