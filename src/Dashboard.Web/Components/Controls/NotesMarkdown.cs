namespace Dashboard.Web.Components.Controls;

/// <summary>A block of notes: a paragraph, a fenced code block or a list whose items are inline text.</summary>
internal abstract record NoteBlock;

internal sealed record NoteParagraph(IReadOnlyList<NoteInline> Content) : NoteBlock;

internal sealed record NoteCode(string Text) : NoteBlock;

internal sealed record NoteList(bool Ordered, IReadOnlyList<IReadOnlyList<NoteInline>> Items) : NoteBlock;

internal enum NoteInlineKind
{
    Text,
    Break,
    Bold,
    Italic,
    Code,
    Link,
}

/// <summary>Inline text: plain text and code hold <see cref="Text"/>, bold and italic their <see cref="Children"/>, a link both and its href.</summary>
internal sealed record NoteInline(NoteInlineKind Kind, string Text = "", IReadOnlyList<NoteInline>? Children = null, Uri? Href = null);

/// <summary>
/// The small Markdown subset notes are written in: paragraphs (a single line break is kept), <c>**bold**</c>,
/// <c>*italic*</c>, <c>`code`</c>, fenced code blocks, "-"/"*"/"1." lists and <c>[text](https://…)</c> links. It yields a
/// tree, never markup: <see cref="MarkdownNotes"/> renders the tree through Blazor, which encodes every piece of text and
/// attribute, so no HTML written in a note can pass. Anything that is not well-formed (an unclosed marker, a link to any
/// scheme but http and https) stays as the literal text it was.
/// </summary>
internal static class NotesMarkdown
{
    public static IReadOnlyList<NoteBlock> Parse(string text)
    {
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        var blocks = new List<NoteBlock>();
        var paragraph = new List<string>();
        var items = new List<string>();
        var ordered = false;

        void EndParagraph()
        {
            if (paragraph.Count > 0)
            {
                blocks.Add(new NoteParagraph(ParseInline(string.Join('\n', paragraph))));
                paragraph.Clear();
            }
        }

        void EndList()
        {
            if (items.Count > 0)
            {
                blocks.Add(new NoteList(ordered, [.. items.Select(ParseInline)]));
                items.Clear();
            }
        }

        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var trimmed = line.TrimStart();
            if (trimmed.StartsWith("```", StringComparison.Ordinal))
            {
                EndParagraph();
                EndList();
                var code = new List<string>();
                while (++i < lines.Length && !lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal))
                {
                    code.Add(lines[i]);
                }

                blocks.Add(new NoteCode(string.Join('\n', code)));
            }
            else if (trimmed.Length == 0)
            {
                EndParagraph();
                EndList();
            }
            else if (ListItem(trimmed) is var (isOrdered, content))
            {
                EndParagraph();
                if (items.Count > 0 && isOrdered != ordered)
                {
                    EndList();
                }

                ordered = isOrdered;
                items.Add(content);
            }
            else if (items.Count > 0)
            {
                // A line under an item, not itself one, carries the item on.
                items[^1] += "\n" + trimmed;
            }
            else
            {
                paragraph.Add(line);
            }
        }

        EndParagraph();
        EndList();
        return blocks;
    }

    /// <summary>"- x", "* x", "+ x" (unordered) or "12. x", "3) x" (ordered): the kind and the item's text.</summary>
    private static (bool Ordered, string Content)? ListItem(string line)
    {
        if (line.Length > 1 && line[0] is '-' or '*' or '+' && line[1] == ' ')
        {
            return (false, line[2..].Trim());
        }

        var digits = 0;
        while (digits < line.Length && digits < 9 && char.IsAsciiDigit(line[digits]))
        {
            digits++;
        }

        return digits > 0 && digits + 1 < line.Length && line[digits] is '.' or ')' && line[digits + 1] == ' '
            ? (true, line[(digits + 2)..].Trim())
            : null;
    }

    public static IReadOnlyList<NoteInline> ParseInline(string text)
    {
        var result = new List<NoteInline>();
        var plain = new System.Text.StringBuilder();

        void Flush()
        {
            if (plain.Length > 0)
            {
                result.Add(new NoteInline(NoteInlineKind.Text, plain.ToString()));
                plain.Clear();
            }
        }

        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '\\' && i + 1 < text.Length && char.IsAsciiLetterOrDigit(text[i + 1]) is false && text[i + 1] != '\n')
            {
                plain.Append(text[i + 1]);
                i += 2;
                continue;
            }

            NoteInline? node = null;
            var end = -1;
            if (c == '\n')
            {
                (node, end) = (new NoteInline(NoteInlineKind.Break), i + 1);
            }
            else if (c == '`' && text.IndexOf('`', i + 1) is var close and > 0 && close > i + 1)
            {
                (node, end) = (new NoteInline(NoteInlineKind.Code, text[(i + 1)..close]), close + 1);
            }
            else if (text.AsSpan(i).StartsWith("**") && Closing(text, "**", i + 2) is var bold and > 0)
            {
                (node, end) = (new NoteInline(NoteInlineKind.Bold, Children: ParseInline(text[(i + 2)..bold])), bold + 2);
            }
            else if (c == '*' && Closing(text, "*", i + 1) is var italic and > 0)
            {
                (node, end) = (new NoteInline(NoteInlineKind.Italic, Children: ParseInline(text[(i + 1)..italic])), italic + 1);
            }
            else if (c == '[' && Link(text, i) is var (label, href, after))
            {
                (node, end) = (new NoteInline(NoteInlineKind.Link, label, Href: href), after);
            }

            if (node is null)
            {
                plain.Append(c);
                i++;
                continue;
            }

            Flush();
            result.Add(node);
            i = end;
        }

        Flush();
        return result;
    }

    /// <summary>Where <paramref name="marker"/> closes a span opened just before <paramref name="start"/>: not at once, not after a space.</summary>
    private static int Closing(string text, string marker, int start)
    {
        if (start >= text.Length || char.IsWhiteSpace(text[start]))
        {
            return -1;
        }

        var close = text.IndexOf(marker, start + 1, StringComparison.Ordinal);
        while (close > 0 && (char.IsWhiteSpace(text[close - 1]) || (marker == "*" && close + 1 < text.Length && text[close + 1] == '*')))
        {
            close = text.IndexOf(marker, close + marker.Length, StringComparison.Ordinal);
        }

        return close;
    }

    /// <summary>
    /// "[label](url)" at <paramref name="start"/> when url is an absolute http or https address without spaces or
    /// quotes; any other scheme (javascript:, data:, …) is no link.
    /// </summary>
    private static (string Label, Uri Href, int After)? Link(string text, int start)
    {
        var labelEnd = text.IndexOf(']', start + 1);
        if (labelEnd < 0 || labelEnd + 1 >= text.Length || text[labelEnd + 1] != '(')
        {
            return null;
        }

        var urlEnd = text.IndexOf(')', labelEnd + 2);
        if (urlEnd < 0)
        {
            return null;
        }

        var url = text[(labelEnd + 2)..urlEnd];
        var label = text[(start + 1)..labelEnd];
        if (label.Length == 0 || label.Contains('\n') || url.AsSpan().IndexOfAny(" \t\n\"'<>`") >= 0
            || !Uri.TryCreate(url, UriKind.Absolute, out var href) || (href.Scheme != Uri.UriSchemeHttp && href.Scheme != Uri.UriSchemeHttps))
        {
            return null;
        }

        return (label, href, urlEnd + 1);
    }
}
