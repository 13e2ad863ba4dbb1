using System.Text;
using System.Text.RegularExpressions;

namespace Dashboard.UnitTests.Architecture;

/// <summary>A using directive: what it names and on which line.</summary>
/// <param name="Target">The namespace, or for <c>using static</c> and aliases the type, as written.</param>
/// <param name="File">Set when the directive is written in another file (an <c>_Imports.razor</c>) and applies here.</param>
public sealed record UsingDirective(string Target, int Line, string? File = null);

/// <summary>A name in code (a simple name or a dotted chain) and the line it is on.</summary>
public sealed record NameUse(string Name, int Line);

/// <summary>
/// One C# or Razor file read the simple way: comments and string contents removed, then regexes over what is left. No
/// compiler: the layering rules need only namespaces, usings, declared type names and the names code mentions, and a
/// regex reading fails loudly (a missing namespace) rather than silently on new syntax.
/// </summary>
public sealed partial class SourceFile
{
    private SourceFile(string relativePath, string project, string? declaredNamespace, bool isRazor)
    {
        RelativePath = relativePath;
        Project = project;
        Namespace = declaredNamespace;
        IsRazor = isRazor;
    }

    /// <summary>Path from the repository root, with forward slashes (<c>src/Dashboard.Runs/Management/RunService.cs</c>).</summary>
    public string RelativePath { get; }

    /// <summary>The project folder under <c>src/</c>, which is also its root namespace (<c>Dashboard.Runs</c>).</summary>
    public string Project { get; }

    /// <summary>The declared (or, for Razor, folder-derived) namespace; null for top-level statements.</summary>
    public string? Namespace { get; }

    public bool IsRazor { get; }

    public int LineCount { get; private init; }

    public IReadOnlyList<UsingDirective> Usings { get; private init; } = [];

    /// <summary>Types declared here (nested ones included: close enough for name lookup, and never missing one).</summary>
    public IReadOnlySet<string> DeclaredTypes { get; private init; } = new HashSet<string>();

    /// <summary>Names not after a dot (the first of a chain included): candidates for types found through the enclosing namespaces.</summary>
    public IReadOnlyList<NameUse> SimpleNames { get; private init; } = [];

    /// <summary>Dotted chains not after a dot (<c>Dashboard.Engine.Training.Trainer</c>, <c>Management.RunService</c>).</summary>
    public IReadOnlyList<NameUse> DottedNames { get; private init; } = [];

    /// <param name="relativePath">Path from the repository root; its second segment names the project (<c>src/&lt;Project&gt;/…</c>).</param>
    public static SourceFile Parse(string relativePath, string text)
    {
        var segments = relativePath.Split('/');
        var project = segments.Length > 2 && segments[0] == "src" ? segments[1] : "";
        var isRazor = relativePath.EndsWith(".razor", StringComparison.Ordinal);
        var code = isRazor ? StripRazorComments(text) : StripCSharp(text);

        string? ns;
        var usings = new List<UsingDirective>();
        if (isRazor)
        {
            ns = RazorNamespace().Match(code) is { Success: true } m
                ? m.Groups[1].Value
                : string.Join('.', segments[1..^1]);
            foreach (Match u in RazorUsing().Matches(code))
            {
                usings.Add(new UsingDirective(u.Groups["target"].Value, LineOf(code, u.Index)));
            }
        }
        else
        {
            ns = CSharpNamespace().Match(code) is { Success: true } m ? m.Groups[1].Value : null;
            foreach (Match u in CSharpUsing().Matches(code))
            {
                usings.Add(new UsingDirective(u.Groups["target"].Value, LineOf(code, u.Index)));
            }
        }

        // Directive lines name namespaces, not types; blanking them keeps their words out of the names code uses.
        var body = Directive().Replace(code, match => new string('\n', match.Value.Count(c => c == '\n')));
        var declared = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match d in TypeDeclaration().Matches(body))
        {
            declared.Add(d.Groups["name"].Value);
        }

        if (isRazor)
        {
            declared.Add(Path.GetFileNameWithoutExtension(relativePath));
        }

        return new SourceFile(relativePath, project, ns, isRazor)
        {
            LineCount = text.Count(c => c == '\n') + (text.Length > 0 && text[^1] != '\n' ? 1 : 0),
            Usings = usings,
            DeclaredTypes = declared,
            SimpleNames = [.. SimpleName().Matches(body).Select(n => new NameUse(n.Value, LineOf(body, n.Index)))],
            DottedNames = [.. DottedName().Matches(body).Select(n => new NameUse(n.Value, LineOf(body, n.Index)))],
        };
    }

    /// <summary>
    /// C# with comments removed and string and character literals emptied (<c>""</c>, <c>''</c>); line breaks stay, so
    /// line numbers still match the file. Interpolation holes go with their string: they rarely name a type.
    /// </summary>
    public static string StripCSharp(string text)
    {
        var output = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            var next = i + 1 < text.Length ? text[i + 1] : '\0';
            if (c == '/' && next == '/')
            {
                i = text.IndexOf('\n', i) is var end and >= 0 ? end : text.Length;
            }
            else if (c == '/' && next == '*')
            {
                var end = text.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = SkipKeepingLines(text, i, end < 0 ? text.Length : end + 2, output);
            }
            else if (c == '"' && next == '"' && i + 2 < text.Length && text[i + 2] == '"')
            {
                var quotes = 0;
                while (i + quotes < text.Length && text[i + quotes] == '"')
                {
                    quotes++;
                }

                var end = text.IndexOf(new string('"', quotes), i + quotes, StringComparison.Ordinal);
                output.Append("\"\"");
                i = SkipKeepingLines(text, i, end < 0 ? text.Length : end + quotes, output);
            }
            else if (c == '"')
            {
                var verbatim = i > 0 && (text[i - 1] == '@' || (text[i - 1] == '$' && i > 1 && text[i - 2] == '@'));
                output.Append("\"\"");
                i = SkipKeepingLines(text, i, EndOfQuoted(text, i, '"', verbatim), output);
            }
            else if (c == '\'')
            {
                output.Append("''");
                i = SkipKeepingLines(text, i, EndOfQuoted(text, i, '\'', verbatim: false), output);
            }
            else
            {
                output.Append(c);
                i++;
            }
        }

        return output.ToString();
    }

    /// <summary>Razor with <c>@* … *@</c> and HTML comments removed. Markup stays: its words are prose, not C#.</summary>
    public static string StripRazorComments(string text) =>
        RazorComment().Replace(text, match => new string('\n', match.Value.Count(c => c == '\n')));

    /// <summary>The index just past the closing quote of the literal opened at <paramref name="start"/>.</summary>
    private static int EndOfQuoted(string text, int start, char quote, bool verbatim)
    {
        var i = start + 1;
        while (i < text.Length)
        {
            if (!verbatim && text[i] == '\\')
            {
                i += 2;
            }
            else if (text[i] == quote)
            {
                if (verbatim && i + 1 < text.Length && text[i + 1] == quote)
                {
                    i += 2; // "" inside a verbatim string
                }
                else
                {
                    return i + 1;
                }
            }
            else if (!verbatim && text[i] == '\n')
            {
                return i; // an unterminated literal ends with its line rather than swallowing the file
            }
            else
            {
                i++;
            }
        }

        return text.Length;
    }

    private static int SkipKeepingLines(string text, int start, int end, StringBuilder output)
    {
        for (var i = start; i < end; i++)
        {
            if (text[i] == '\n')
            {
                output.Append('\n');
            }
        }

        return end;
    }

    private static int LineOf(string text, int index)
    {
        var line = 1;
        for (var i = 0; i < index; i++)
        {
            if (text[i] == '\n')
            {
                line++;
            }
        }

        return line;
    }

    [GeneratedRegex(@"^[ \t]*namespace\s+([\w.]+)\s*[;{]", RegexOptions.Multiline)]
    private static partial Regex CSharpNamespace();

    [GeneratedRegex(@"^[ \t]*(?:global\s+)?using\s+(?:static\s+)?(?:\w+\s*=\s*)?(?<target>[\w.]+(?:<[^;]*>)?)\s*;", RegexOptions.Multiline)]
    private static partial Regex CSharpUsing();

    [GeneratedRegex(@"^[ \t]*@namespace\s+([\w.]+)", RegexOptions.Multiline)]
    private static partial Regex RazorNamespace();

    [GeneratedRegex(@"^[ \t]*@using\s+(?:static\s+)?(?:\w+\s*=\s*)?(?<target>[\w.]+)", RegexOptions.Multiline)]
    private static partial Regex RazorUsing();

    [GeneratedRegex(@"^[ \t]*(?:(?:global\s+)?using\s+(?:static\s+)?(?:\w+\s*=\s*)?[\w.]+(?:<[^;\n]*>)?\s*;|namespace\s+[\w.]+|@using\s[^\n]*|@namespace\s[^\n]*)", RegexOptions.Multiline)]
    private static partial Regex Directive();

    [GeneratedRegex(@"\b(?:class|struct|interface|enum|record)\s+(?:class\s+|struct\s+)?(?<name>[A-Za-z_]\w*)")]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"(?<![.\w])[A-Za-z_]\w*")]
    private static partial Regex SimpleName();

    [GeneratedRegex(@"(?<![.\w])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")]
    private static partial Regex DottedName();

    [GeneratedRegex(@"@\*.*?\*@|<!--.*?-->", RegexOptions.Singleline)]
    private static partial Regex RazorComment();
}
