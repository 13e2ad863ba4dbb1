using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Dashboard.Engine.Policies;

/// <summary>
/// Expands Keras-style checkpoint names such as <c>epoch{epoch:02d}-valLoss{valLoss:.4f}</c>: each field is a metric or
/// epoch/step/kind, with an optional Python format (<c>d</c>, <c>0Nd</c>, <c>.Nf</c>, <c>.Ne</c>). Unknown fields and missing
/// values render as "na" rather than failing a save.
/// </summary>
public static partial class FileNameTemplate
{
    public const int MaxLength = 200;

    /// <summary>
    /// Widest padding a field may ask for. A name is cut to 120 characters by the store anyway; without a bound,
    /// <c>{epoch:0999999999d}</c> would allocate gigabytes at every checkpoint.
    /// </summary>
    public const int MaxWidth = 32;

    /// <summary>Most decimals a field may ask for: a double holds about 17 significant digits, more are noise.</summary>
    public const int MaxPrecision = 17;

    public static string Expand(string template, int epoch, long step, string kind, IReadOnlyDictionary<string, double> metrics)
    {
        var result = new StringBuilder();
        var last = 0;
        foreach (Match match in Field().Matches(template))
        {
            result.Append(template, last, match.Index - last);
            var name = match.Groups["name"].Value;
            var format = match.Groups["format"].Success ? match.Groups["format"].Value : "";
            result.Append(name switch
            {
                "epoch" => FormatNumber(epoch, format),
                "step" => FormatNumber(step, format),
                "kind" => kind,
                _ => metrics.TryGetValue(name, out var value) ? FormatNumber(value, format) : "na",
            });
            last = match.Index + match.Length;
        }

        result.Append(template, last, template.Length - last);
        return result.ToString();
    }

    /// <summary>An error message for a template that can never produce a usable name, else null.</summary>
    public static string? Problem(string? template)
    {
        if (string.IsNullOrWhiteSpace(template))
        {
            return "The file name template must not be empty.";
        }

        if (template.Length > MaxLength)
        {
            return $"The file name template may have at most {MaxLength} characters.";
        }

        // Names are sanitised before use anyway, but a template holding a path is a mistake worth saying.
        if (template.IndexOfAny(['/', '\\']) >= 0)
        {
            return "The file name template names one folder, not a path: leave out / and \\.";
        }

        foreach (Match match in Field().Matches(template))
        {
            if (!match.Groups["format"].Success)
            {
                continue;
            }

            var spec = FormatSpec().Match(match.Groups["format"].Value);
            if (!spec.Success)
            {
                return $"'{match.Value}' has a format this template does not know; use d, 0Nd, .Nf or .Ne.";
            }

            if (BoundsProblem(spec) is { } bounds)
            {
                return $"'{match.Value}': {bounds}";
            }
        }

        return template.Count(c => c == '{') == template.Count(c => c == '}') ? null : "The file name template has unbalanced braces.";
    }

    private static string FormatNumber(double value, string format)
    {
        var spec = FormatSpec().Match(format);

        // A template stored before these bounds existed reaches here unvalidated; it must fail the save with a clear
        // message before anything is allocated, not pad a string to gigabytes or overflow parsing the width.
        if (spec.Success && BoundsProblem(spec) is { } problem)
        {
            throw new FormatException($"The file name template's format '{format}' cannot be used: {problem}");
        }

        if (double.IsNaN(value))
        {
            return "nan";
        }

        if (format.Length == 0 || !spec.Success)
        {
            return value == Math.Floor(value) && Math.Abs(value) < 1e15
                ? ((long)value).ToString(CultureInfo.InvariantCulture)
                : value.ToString("G6", CultureInfo.InvariantCulture);
        }

        var width = spec.Groups["width"].Success ? int.Parse(spec.Groups["width"].Value, CultureInfo.InvariantCulture) : 0;
        var precision = spec.Groups["precision"].Success ? int.Parse(spec.Groups["precision"].Value, CultureInfo.InvariantCulture) : 6;
        var text = spec.Groups["type"].Value switch
        {
            "d" => ((long)Math.Round(value)).ToString(CultureInfo.InvariantCulture),
            "e" => value.ToString($"0.{new string('0', precision)}e+00", CultureInfo.InvariantCulture),
            _ => value.ToString($"F{precision}", CultureInfo.InvariantCulture),
        };
        if (!spec.Groups["zero"].Success)
        {
            return text.PadLeft(width);
        }

        // Python pads after the sign: format(-1.5, '07.2f') is '-001.50'.
        return text.StartsWith('-') ? "-" + text[1..].PadLeft(width - 1, '0') : text.PadLeft(width, '0');
    }

    /// <summary>Why a parsed format's width or precision is out of bounds, else null; never parses an unbounded number.</summary>
    private static string? BoundsProblem(Match spec)
    {
        if (spec.Groups["width"].Success && !WithinBound(spec.Groups["width"].Value, MaxWidth))
        {
            return $"the width may be at most {MaxWidth}.";
        }

        return spec.Groups["precision"].Success && !WithinBound(spec.Groups["precision"].Value, MaxPrecision)
            ? $"the precision may be at most {MaxPrecision} decimals."
            : null;
    }

    // Digits only (the regex says so); leading zeros aside, more than 9 of them could overflow int.Parse.
    private static bool WithinBound(string digits, int max)
    {
        var significant = digits.TrimStart('0');
        return significant.Length <= 9 && (significant.Length == 0 || int.Parse(significant, CultureInfo.InvariantCulture) <= max);
    }

    [GeneratedRegex(@"\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?<format>[^}]*))?\}")]
    private static partial Regex Field();

    [GeneratedRegex(@"^(?<zero>0)?(?<width>\d+)?(?:\.(?<precision>\d+))?(?<type>[dfe])$")]
    private static partial Regex FormatSpec();
}
