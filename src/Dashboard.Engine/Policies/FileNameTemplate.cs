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
            if (match.Groups["format"].Success && !FormatSpec().IsMatch(match.Groups["format"].Value))
            {
                return $"'{match.Value}' has a format this template does not know; use d, 0Nd, .Nf or .Ne.";
            }
        }

        return template.Count(c => c == '{') == template.Count(c => c == '}') ? null : "The file name template has unbalanced braces.";
    }

    private static string FormatNumber(double value, string format)
    {
        if (double.IsNaN(value))
        {
            return "nan";
        }

        var spec = FormatSpec().Match(format);
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

    [GeneratedRegex(@"\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?<format>[^}]*))?\}")]
    private static partial Regex Field();

    [GeneratedRegex(@"^(?<zero>0)?(?<width>\d+)?(?:\.(?<precision>\d{1,2}))?(?<type>[dfe])$")]
    private static partial Regex FormatSpec();
}
