namespace Dashboard.Engine.Policies;

/// <summary>A kept checkpoint as retention sees it.</summary>
/// <param name="Monitor">The policy's monitored value at save time, when it was logged.</param>
public sealed record RetentionCandidate(int Id, int Epoch, long Step, bool AtEpochEnd, double? Monitor, long SizeBytes, bool Pinned, bool InUse);

/// <summary>
/// Decides which checkpoints of a run a policy lets go. Never chosen: pinned ones, ones a job is using, and the newest
/// (the run's resume point). Without keep-last or keep-top-k everything is kept, unless the disk budget says otherwise.
/// </summary>
public static class RetentionPlanner
{
    public static IReadOnlyList<int> ToDelete(IReadOnlyList<RetentionCandidate> checkpoints, CheckpointPolicy policy)
    {
        if (checkpoints.Count == 0)
        {
            return [];
        }

        var mode = policy.ResolvedMode;
        var newestFirst = checkpoints.OrderByDescending(c => c.Step).ThenByDescending(c => c.Id).ToList();
        var protectedIds = newestFirst.Where(c => c.Pinned || c.InUse).Select(c => c.Id).ToHashSet();
        protectedIds.Add(newestFirst[0].Id);
        if (policy.KeepEveryEpochs is > 0 and var every)
        {
            protectedIds.UnionWith(checkpoints.Where(c => c.AtEpochEnd && c.Epoch % every == 0).Select(c => c.Id));
        }

        var keep = new HashSet<int>(protectedIds);
        if (policy.KeepLast is null && policy.KeepTopK is null)
        {
            keep.UnionWith(checkpoints.Select(c => c.Id));
        }

        if (policy.KeepLast is { } last)
        {
            keep.UnionWith(newestFirst.Take(last).Select(c => c.Id));
        }

        var bestFirst = BestFirst(checkpoints, mode);
        if (policy.KeepTopK is { } top)
        {
            keep.UnionWith(bestFirst.Where(c => HasValue(c.Monitor)).Take(top).Select(c => c.Id));
        }

        if (policy.MaxBytes is { } budget)
        {
            // Over budget: drop the worst unprotected ones until it fits (or only protected ones are left).
            var total = checkpoints.Where(c => keep.Contains(c.Id)).Sum(c => c.SizeBytes);
            foreach (var candidate in bestFirst.AsEnumerable().Reverse())
            {
                if (total <= budget)
                {
                    break;
                }

                if (keep.Contains(candidate.Id) && !protectedIds.Contains(candidate.Id))
                {
                    keep.Remove(candidate.Id);
                    total -= candidate.SizeBytes;
                }
            }
        }

        return [.. checkpoints.Where(c => !keep.Contains(c.Id)).OrderBy(c => c.Step).Select(c => c.Id)];
    }

    /// <summary>Best monitor value first; checkpoints without one (or with NaN) rank last, oldest last among them.</summary>
    private static List<RetentionCandidate> BestFirst(IReadOnlyList<RetentionCandidate> checkpoints, string mode) =>
        [.. checkpoints
            .OrderBy(c => HasValue(c.Monitor) ? 0 : 1)
            .ThenBy(c => c.Monitor ?? 0, Comparer<double>.Create((a, b) => MonitorMode.Compare(a, b, mode)))
            .ThenByDescending(c => c.Step)];

    // NaN (a diverged epoch) compares below every number, so it would rank best in min mode; it means "no value".
    private static bool HasValue(double? monitor) => monitor is { } value && !double.IsNaN(value);
}
