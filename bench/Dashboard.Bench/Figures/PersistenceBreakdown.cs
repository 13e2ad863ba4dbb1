using System.Globalization;
using System.Text.RegularExpressions;

namespace Dashboard.Bench.Figures;

/// <summary>
/// The server's own measurement of a dashboard run's persistence, part by part: the line the run's
/// <c>PersistingObserver</c> writes to its log when the run ends (per-epoch means over all its epochs, and the longest
/// single piece). Nothing here is estimated; a run whose log lacks the line yields nothing and the figure says so.
/// </summary>
internal static partial class PersistenceBreakdown
{
    private const string Marker = "Persistence per epoch";

    /// <summary>Part name → (mean ms per epoch, longest single ms), from the run's log; empty when the line is missing.</summary>
    public static async Task<Dictionary<string, (double MeanMs, double LongestMs)>> ReadAsync(
        DashboardServer server, int runId, CancellationToken cancellationToken)
    {
        // The log is stored by a background writer; the line is queued before the run's status changes, so it lands
        // within moments of the run ending.
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var log = await server.GetJsonAsync($"/api/runs/{runId}/log", cancellationToken);
            var line = log.AsArray().Select(l => l!["message"]!.GetValue<string>()).LastOrDefault(m => m.StartsWith(Marker, StringComparison.Ordinal));
            if (line is not null)
            {
                return Part().Matches(line).ToDictionary(
                    m => m.Groups[1].Value,
                    m => (double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture)));
            }

            await Task.Delay(100, cancellationToken);
        }

        return [];
    }

    /// <summary>The medians over runs of each part's per-epoch mean, and the longest single piece seen in any run.</summary>
    public static (string Text, Dictionary<string, Dictionary<string, double>> Details) Summarise(
        IReadOnlyList<Dictionary<string, (double MeanMs, double LongestMs)>> runs)
    {
        var parts = runs.SelectMany(r => r.Keys).Distinct().ToList();
        if (parts.Count == 0)
        {
            return ("the server's persistence breakdown was missing from the run logs", []);
        }

        var details = parts.ToDictionary(p => p, p => new Dictionary<string, double>
        {
            ["medianPerEpochMs"] = Stats.Round(Stats.Median([.. runs.Where(r => r.ContainsKey(p)).Select(r => r[p].MeanMs)]), 1),
            ["longestMs"] = Stats.Round(runs.Where(r => r.ContainsKey(p)).Max(r => r[p].LongestMs), 1),
        });
        var text = "dashboard run's persistence per epoch, the server's own stopwatch (median over runs of the per-epoch mean / longest single piece, ms): "
            + string.Join(", ", parts.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p} {details[p]["medianPerEpochMs"]:F1}/{details[p]["longestMs"]:F1}")))
            + " (checkpointWait and handOff are on the training thread, inside the epoch's time; epochWait on it too, between epochs; the rest run in the background beside it)";
        return (text, details);
    }

    [GeneratedRegex(@"(\w+)=([0-9]+\.[0-9]+)/([0-9]+\.[0-9]+)")]
    private static partial Regex Part();
}
