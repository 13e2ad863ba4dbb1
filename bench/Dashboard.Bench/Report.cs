using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dashboard.Bench;

/// <summary>One line of the results table: a ratio measured side by side in the same run, its target and the verdict.</summary>
internal sealed class FigureResult
{
    public const string Met = "met";
    public const string Missed = "missed";
    public const string NoTarget = "no target";
    public const string Failed = "error";
    public const string Skipped = "skipped";

    public required string Id { get; init; }

    public required string Name { get; init; }

    /// <summary>The figure: a ratio of two quantities measured side by side in this run.</summary>
    public double? Ratio { get; set; }

    /// <summary>What the ratio divides by what.</summary>
    public required string RatioMeaning { get; init; }

    public required string Target { get; init; }

    public string Verdict { get; set; } = NoTarget;

    /// <summary>Absolute figures, shown beside the ratio only.</summary>
    public string Absolute { get; set; } = "";

    public string? Note { get; set; }

    public Dictionary<string, object?> Details { get; } = [];

    public static string Judge(bool met) => met ? Met : Missed;
}

internal sealed record BenchReport(
    string Mode,
    DateTime StartedAtUtc,
    double DurationSeconds,
    MachineInfo Machine,
    IReadOnlyList<FigureResult> Figures,
    IReadOnlyList<string> Notes)
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,

        // A file for people and scripts, never embedded in HTML: keep ×, ≥ and quotes readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        var m = Machine;
        text.AppendLine(CultureInfo.InvariantCulture, $"Mode `--{Mode}`, {StartedAtUtc:yyyy-MM-dd HH:mm} UTC, {DurationSeconds:F0} s. Machine: {m.Cores} cores ({m.CpuModel}), device {m.Device} ({m.TorchThreads} torch threads), {m.Os}, .NET {m.Dotnet}, TorchSharp {m.TorchSharp}; load average {m.LoadAverageStart} at start, {m.LoadAverageEnd} at end.");
        text.AppendLine();
        text.AppendLine("| # | figure | ratio (side by side) | target | result | absolute (alongside only) |");
        text.AppendLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var f in Figures)
        {
            var ratio = f.Ratio is { } r && double.IsFinite(r) ? r.ToString("0.000", CultureInfo.InvariantCulture) : "–";
            text.AppendLine(CultureInfo.InvariantCulture, $"| {f.Id} | {Cell(f.Name)} | **{ratio}** {Cell(f.RatioMeaning)} | {Cell(f.Target)} | {f.Verdict} | {Cell(f.Absolute)} |");
        }

        var notes = Figures.Where(f => !string.IsNullOrEmpty(f.Note)).Select(f => $"{f.Id}: {f.Note}").Concat(Notes).ToList();
        if (notes.Count > 0)
        {
            text.AppendLine();
            foreach (var note in notes)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"- {note}");
            }
        }

        return text.ToString();
    }

    private static string Cell(string value) => value.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
}
