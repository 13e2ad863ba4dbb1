using System.Globalization;
using Dashboard.Runs.Contracts;
using Plotly.Blazor.Traces.ScatterLib.MarkerLib;
using Dashboard.Engine.Policies;

namespace Dashboard.Web.Components.Controls;

/// <summary>How one kind of checkpoint looks on the run chart; faded (hollow) once its files are gone.</summary>
internal sealed record MarkerKind(string Kind, string Color, SymbolEnum Symbol, SymbolEnum FadedSymbol)
{
    public string TraceName => $"checkpoint: {Kind}";
}

/// <summary>One marker trace as plotly.js takes it: a value per point for each attribute, and the checkpoint behind each point.</summary>
internal sealed record MarkerTrace(
    IReadOnlyList<int> Ids,
    IReadOnlyList<double> X,
    IReadOnlyList<double?> Y,
    IReadOnlyList<SymbolEnum?> Symbols,
    IReadOnlyList<decimal?> Opacity,
    IReadOnlyList<decimal?> Size,
    IReadOnlyList<object> LineColors,
    IReadOnlyList<decimal?> LineWidths,
    IReadOnlyList<string> Text)
{
    public static MarkerTrace Empty { get; } = new([], [], [], [], [], [], [], [], []);

    /// <summary>Same points drawn the same way, so nothing needs sending.</summary>
    public bool SameAs(MarkerTrace other) =>
        Ids.SequenceEqual(other.Ids) && X.SequenceEqual(other.X) && Y.SequenceEqual(other.Y) && Symbols.SequenceEqual(other.Symbols)
        && Opacity.SequenceEqual(other.Opacity) && Size.SequenceEqual(other.Size) && LineColors.SequenceEqual(other.LineColors)
        && LineWidths.SequenceEqual(other.LineWidths) && Text.SequenceEqual(other.Text, StringComparer.Ordinal);
}

/// <summary>The marker traces to show next, and the indices (among the marker traces) of those that differ from what is shown.</summary>
internal sealed record MarkerDiff(MarkerTrace[] Next, IReadOnlyList<int> Changed)
{
    /// <summary>
    /// The changed traces as one <c>Plotly.update</c> takes them: each attribute holds one value per trace updated
    /// (plotly.js's restyle rule), here each a per-point array.
    /// </summary>
    public Dictionary<string, object> Restyle()
    {
        var traces = Changed.Select(i => Next[i]).ToList();
        return new Dictionary<string, object>
        {
            ["x"] = traces.Select(t => t.X).ToList(),
            ["y"] = traces.Select(t => t.Y).ToList(),
            ["text"] = traces.Select(t => t.Text).ToList(),
            ["marker.symbol"] = traces.Select(t => t.Symbols).ToList(),
            ["marker.opacity"] = traces.Select(t => t.Opacity).ToList(),
            ["marker.size"] = traces.Select(t => t.Size).ToList(),
            ["marker.line.color"] = traces.Select(t => t.LineColors).ToList(),
            ["marker.line.width"] = traces.Select(t => t.LineWidths).ToList(),
        };
    }
}

/// <summary>
/// Where and how checkpoints sit on the run chart: a trace per kind (so the legend names and toggles each kind), pinned
/// ones ringed, removed or unusable ones faded and hollow, and the run's current best circled.
/// </summary>
internal static class CheckpointMarkers
{
    public const string PinColor = "#ca8a04";
    public const string BestColor = "#f59e0b";

    /// <summary>The kinds in trace order; an unknown kind is drawn with the first.</summary>
    public static IReadOnlyList<MarkerKind> Kinds { get; } =
    [
        new(CheckpointKind.Periodic, "#475569", SymbolEnum.Circle, SymbolEnum.CircleOpen),
        new(CheckpointKind.Best, "#0d9488", SymbolEnum.TriangleUp, SymbolEnum.TriangleUpOpen),
        new(CheckpointKind.Last, "#0f172a", SymbolEnum.Square, SymbolEnum.SquareOpen),
        new(CheckpointKind.Manual, "#c026d3", SymbolEnum.Diamond, SymbolEnum.DiamondOpen),
        new(CheckpointKind.Interrupt, "#dc2626", SymbolEnum.X, SymbolEnum.XOpen),
    ];

    public const decimal Size = 10;
    public const decimal PinnedSize = 13;
    public const decimal FadedOpacity = 0.35m;

    public static int KindIndex(string kind)
    {
        for (var k = 0; k < Kinds.Count; k++)
        {
            if (Kinds[k].Kind == kind)
            {
                return k;
            }
        }

        return 0;
    }

    /// <summary>The legend's name of the current-best trace, e.g. "best by val_loss".</summary>
    public static string BestTraceName(string monitor) => $"best by {MetricLabel(monitor)}";

    /// <summary>Shown as the chart's traces name them (val_loss), not as the API spells them (valLoss).</summary>
    public static string MetricLabel(string metric) => metric switch
    {
        "valLoss" => "val_loss",
        "valAccuracy" => "val_accuracy",
        "valMae" => "val_mae",
        "learningRate" => "learning rate",
        _ => metric,
    };

    /// <summary>
    /// Taken at an epoch's end, after validation; the server's retention draws the same line. Others (interrupt, step or
    /// time based) were taken inside the next epoch.
    /// </summary>
    public static bool AtEpochEnd(CheckpointDto checkpoint) =>
        checkpoint.Kind != CheckpointKind.Interrupt && checkpoint.Metrics.ContainsKey("valLoss");

    /// <summary>Only durable checkpoints can be used; the rest are drawn faded.</summary>
    public static bool Usable(CheckpointDto checkpoint) => checkpoint.IsDurable;

    /// <summary>
    /// The epoch for one taken at an epoch's end; inside an epoch, the completed epochs plus the share of the next
    /// epoch's steps done, when the curve's steps tell how many an epoch has (else half way).
    /// </summary>
    public static double X(CheckpointDto checkpoint, IReadOnlyDictionary<int, long> stepByEpoch)
    {
        var epoch = checkpoint.Epoch;
        if (AtEpochEnd(checkpoint))
        {
            return epoch;
        }

        var perEpoch = Steps(stepByEpoch, epoch, epoch + 1) ?? Steps(stepByEpoch, epoch - 1, epoch) ?? AnyEpochSteps(stepByEpoch);
        long? start = stepByEpoch.TryGetValue(epoch, out var end) ? end
            : perEpoch is { } p && stepByEpoch.TryGetValue(epoch + 1, out var next) ? next - p
            : epoch == 0 ? 0
            : null;
        var share = perEpoch is > 0 && start is { } s ? (checkpoint.Step - s) / (double)perEpoch.Value : 0.5;

        // Never on an epoch's own x, where it would hide behind that epoch's marker.
        return epoch + Math.Clamp(share, 0.05, 0.95);
    }

    /// <summary>
    /// The checkpoint's own val_loss; else the val_loss curve at <paramref name="x"/> (between two epochs, in proportion);
    /// else the training loss it logged; null (a gap) without any.
    /// </summary>
    public static double? Y(CheckpointDto checkpoint, double x, IReadOnlyDictionary<int, double> valLossByEpoch)
    {
        if (checkpoint.Metrics.TryGetValue("valLoss", out var own))
        {
            return own;
        }

        var before = (int)Math.Floor(x);
        var share = x - before;
        var hasBefore = valLossByEpoch.TryGetValue(before, out var a);
        var hasAfter = valLossByEpoch.TryGetValue(before + 1, out var b);
        return (hasBefore, hasAfter) switch
        {
            (true, true) => a + ((b - a) * share),
            (true, false) => a,
            (false, true) => b,
            _ => checkpoint.Metrics.TryGetValue("loss", out var loss) ? loss : null,
        };
    }

    /// <summary>Every checkpoint but one still being written: removed and unusable ones stay, faded, so the record shows them.</summary>
    public static bool Plottable(CheckpointDto checkpoint) => !checkpoint.IsWriting;

    /// <summary>
    /// Which marker traces must change for the browser to show <paramref name="checkpoints"/> as they are now: a marker
    /// added, removed or restyled changes its kind's trace, a new best the ring's. Traces that would be drawn the same
    /// are left out, so an event that changes nothing visible sends nothing.
    /// </summary>
    public static MarkerDiff Diff(
        IReadOnlyList<MarkerTrace> shown,
        IEnumerable<CheckpointDto> checkpoints,
        int? bestId,
        string monitor,
        IReadOnlyDictionary<int, long> stepByEpoch,
        IReadOnlyDictionary<int, double> valLossByEpoch)
    {
        var next = Build(checkpoints, bestId, monitor, stepByEpoch, valLossByEpoch);
        return new MarkerDiff(next, [.. Enumerable.Range(0, next.Length).Where(i => !next[i].SameAs(shown[i]))]);
    }

    /// <summary>The marker traces, one per kind, in <see cref="Kinds"/> order, then the current best's ring; checkpoints being written are left out.</summary>
    public static MarkerTrace[] Build(
        IEnumerable<CheckpointDto> checkpoints,
        int? bestId,
        string monitor,
        IReadOnlyDictionary<int, long> stepByEpoch,
        IReadOnlyDictionary<int, double> valLossByEpoch)
    {
        var placed = checkpoints.Where(Plottable)
            .Select(c => (Checkpoint: c, X: X(c, stepByEpoch)))
            .Select(p => (p.Checkpoint, p.X, Y: Y(p.Checkpoint, p.X, valLossByEpoch)))
            .OrderBy(p => p.X).ThenBy(p => p.Checkpoint.Step).ThenBy(p => p.Checkpoint.Id)
            .ToList();
        var traces = new MarkerTrace[Kinds.Count + 1];
        for (var k = 0; k < Kinds.Count; k++)
        {
            // plotly.js draws a trace's legend symbol like its first point: a plain, usable one goes first when there is one.
            var kind = Kinds[k];
            var points = placed.Where(p => KindIndex(p.Checkpoint.Kind) == k)
                .OrderBy(p => Usable(p.Checkpoint) ? p.Checkpoint.Pinned ? 1 : 0 : 2)
                .ToList();
            traces[k] = new MarkerTrace(
                [.. points.Select(p => p.Checkpoint.Id)],
                [.. points.Select(p => p.X)],
                [.. points.Select(p => p.Y)],
                [.. points.Select(p => (SymbolEnum?)(Usable(p.Checkpoint) ? kind.Symbol : kind.FadedSymbol))],
                [.. points.Select(p => (decimal?)(Usable(p.Checkpoint) ? 1m : FadedOpacity))],
                [.. points.Select(p => (decimal?)(p.Checkpoint.Pinned ? PinnedSize : Size))],
                [.. points.Select(p => (object)(p.Checkpoint.Pinned ? PinColor : Usable(p.Checkpoint) ? "#ffffff" : kind.Color))],
                [.. points.Select(p => (decimal?)(p.Checkpoint.Pinned ? 3m : Usable(p.Checkpoint) ? 1m : 2m))],
                [.. points.Select(p => Hover(p.Checkpoint))]);
        }

        var best = placed.Where(p => p.Checkpoint.Id == bestId && Usable(p.Checkpoint)).Take(1).ToList();
        traces[^1] = new MarkerTrace(
            [.. best.Select(p => p.Checkpoint.Id)],
            [.. best.Select(p => p.X)],
            [.. best.Select(p => p.Y)],
            [.. best.Select(_ => (SymbolEnum?)SymbolEnum.CircleOpen)],
            [.. best.Select(_ => (decimal?)1m)],
            [.. best.Select(_ => (decimal?)24m)],
            [.. best.Select(_ => (object)BestColor)],
            [.. best.Select(_ => (decimal?)3m)],
            [.. best.Select(p => $"best by {MetricLabel(monitor)}: checkpoint #{p.Checkpoint.Id}")]);
        return traces;
    }

    /// <summary>What hovering a marker says: kind, when, its val_loss, status and pin.</summary>
    public static string Hover(CheckpointDto checkpoint)
    {
        var when = AtEpochEnd(checkpoint)
            ? $"epoch {checkpoint.Epoch}, step {checkpoint.Step}"
            : $"during epoch {checkpoint.Epoch + 1}, step {checkpoint.Step}";
        var value = checkpoint.Metrics.TryGetValue("valLoss", out var valLoss) ? $"val_loss {Format(valLoss)}"
            : checkpoint.Metrics.TryGetValue("loss", out var loss) ? $"loss so far {Format(loss)}"
            : "no val_loss";
        var status = Usable(checkpoint) ? checkpoint.Status : $"{checkpoint.Status}: cannot be resumed";
        return $"{checkpoint.Kind} checkpoint #{checkpoint.Id}<br>{when}<br>{value}<br>{status}{(checkpoint.Pinned ? " · pinned" : "")}";
    }

    private static string Format(double value) => value.ToString("F4", CultureInfo.InvariantCulture);

    private static long? Steps(IReadOnlyDictionary<int, long> stepByEpoch, int from, int to) =>
        stepByEpoch.TryGetValue(from, out var a) && stepByEpoch.TryGetValue(to, out var b) && b > a ? b - a : null;

    private static long? AnyEpochSteps(IReadOnlyDictionary<int, long> stepByEpoch) =>
        stepByEpoch.Keys.Order().Select(e => Steps(stepByEpoch, e, e + 1)).FirstOrDefault(s => s is not null);
}
