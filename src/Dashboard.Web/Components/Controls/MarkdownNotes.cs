using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Rendering;

namespace Dashboard.Web.Components.Controls;

/// <summary>
/// A run's notes as formatted text. The notes are parsed by <see cref="NotesMarkdown"/> into blocks and spans, and every
/// element here is one this class names: text goes in as content and the only attributes are a link's checked http(s)
/// href and fixed values, all of which Blazor encodes. No part of a note ever becomes markup of its own.
/// </summary>
public sealed class MarkdownNotes : ComponentBase
{
    [Parameter, EditorRequired]
    public string Text { get; set; } = "";

    protected override void BuildRenderTree(RenderTreeBuilder builder)
    {
        builder.OpenElement(0, "div");
        builder.AddAttribute(1, "class", "notes");
        builder.AddAttribute(2, "data-testid", "run-notes");
        foreach (var block in NotesMarkdown.Parse(Text))
        {
            switch (block)
            {
                case NoteParagraph paragraph:
                    builder.OpenElement(3, "p");
                    AddInline(builder, paragraph.Content);
                    builder.CloseElement();
                    break;
                case NoteCode code:
                    builder.OpenElement(4, "pre");
                    builder.OpenElement(5, "code");
                    builder.AddContent(6, code.Text);
                    builder.CloseElement();
                    builder.CloseElement();
                    break;
                case NoteList list:
                    builder.OpenElement(7, list.Ordered ? "ol" : "ul");
                    foreach (var item in list.Items)
                    {
                        builder.OpenElement(8, "li");
                        AddInline(builder, item);
                        builder.CloseElement();
                    }

                    builder.CloseElement();
                    break;
            }
        }

        builder.CloseElement();
    }

    private static void AddInline(RenderTreeBuilder builder, IReadOnlyList<NoteInline> spans)
    {
        foreach (var span in spans)
        {
            switch (span.Kind)
            {
                case NoteInlineKind.Text:
                    builder.AddContent(10, span.Text);
                    break;
                case NoteInlineKind.Break:
                    builder.OpenElement(11, "br");
                    builder.CloseElement();
                    break;
                case NoteInlineKind.Code:
                    builder.OpenElement(12, "code");
                    builder.AddContent(13, span.Text);
                    builder.CloseElement();
                    break;
                case NoteInlineKind.Bold or NoteInlineKind.Italic:
                    builder.OpenElement(14, span.Kind == NoteInlineKind.Bold ? "strong" : "em");
                    AddInline(builder, span.Children ?? []);
                    builder.CloseElement();
                    break;
                case NoteInlineKind.Link:
                    // A note's link leaves the dashboard: a new tab that cannot reach back into this one.
                    builder.OpenElement(15, "a");
                    builder.AddAttribute(16, "href", span.Href!.AbsoluteUri);
                    builder.AddAttribute(17, "target", "_blank");
                    builder.AddAttribute(18, "rel", "noopener noreferrer nofollow");
                    builder.AddContent(19, span.Text);
                    builder.CloseElement();
                    break;
            }
        }
    }
}
