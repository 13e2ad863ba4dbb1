using Bunit;
using Dashboard.Web.Components.Controls;

namespace Dashboard.ComponentTests.Controls;

/// <summary>Notes as a safe Markdown subset: the formatting it knows, and nothing a hostile note could make run.</summary>
public sealed class MarkdownNotesTests : BunitContext
{
    [Fact]
    public void Render_EachKnownConstruct_BecomesItsElement()
    {
        var cut = Render("""
            Tried **higher lr** and *warmup*, see `lr=0.1`
            second line of it

            - one
            - [report](https://example.org/a?b=1&c=2)

            1. first
            2) second

            ```
            x = **not bold** <b>
            ```
            """);

        var notes = cut.Find("[data-testid=run-notes]");
        Assert.Equal(["P", "UL", "OL", "PRE"], notes.Children.Select(e => e.TagName));
        Assert.Equal("higher lr", notes.QuerySelector("p strong")?.TextContent);
        Assert.Equal("warmup", notes.QuerySelector("p em")?.TextContent);
        Assert.Equal("lr=0.1", notes.QuerySelector("p code")?.TextContent);
        Assert.Single(notes.QuerySelectorAll("p br"));
        Assert.Equal(["one", "report"], notes.QuerySelectorAll("ul li").Select(li => li.TextContent));
        var link = notes.QuerySelector("ul a")!;
        Assert.Equal(("https://example.org/a?b=1&c=2", "_blank", "noopener noreferrer nofollow"), (link.GetAttribute("href"), link.GetAttribute("target"), link.GetAttribute("rel")));
        Assert.Equal(["first", "second"], notes.QuerySelectorAll("ol li").Select(li => li.TextContent));
        Assert.Equal("x = **not bold** <b>", notes.QuerySelector("pre code")?.TextContent);
        Assert.Empty(notes.QuerySelectorAll("pre b, pre strong"));
    }

    [Theory]
    [InlineData("<script>alert(1)</script>")]
    [InlineData("<img src=x onerror=alert(1)>")]
    [InlineData("**<script>alert(1)</script>**")]
    [InlineData("`</code><script>alert(1)</script>`")]
    [InlineData("- <iframe src=javascript:alert(1)></iframe>")]
    [InlineData("```\n</code></pre><script>alert(1)</script>\n```")]
    [InlineData("[click](https://a.example/\"onmouseover=\"alert(1))")]
    [InlineData("[click](https://a.example/x onmouseover=alert(1))")]
    [InlineData("[<img src=x onerror=alert(1)>](https://a.example/)")]
    public void Render_HostileMarkup_ShowsItAsTextAndCreatesNoActiveElementOrAttribute(string note)
    {
        var cut = Render(note);

        var notes = cut.Find("[data-testid=run-notes]");
        Assert.Empty(notes.QuerySelectorAll("script, img, iframe, object, embed, style, svg, b"));
        AssertOnlyKnownAttributes(notes);
        Assert.Contains("alert(1)", notes.TextContent, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[x](javascript:alert(1))")]
    [InlineData("[x](JavaScript:alert(1))")]
    [InlineData("[x](data:text/html,<script>alert(1)</script>)")]
    [InlineData("[x](vbscript:msgbox(1))")]
    [InlineData("[x](//evil.example/)")]
    [InlineData("[x](/api/runs/1)")]
    public void Render_LinkToAnythingButHttp_IsNoLinkButItsText(string note)
    {
        var cut = Render(note);

        var notes = cut.Find("[data-testid=run-notes]");
        Assert.Empty(notes.QuerySelectorAll("a"));
        Assert.Equal(note, notes.TextContent);
    }

    [Fact]
    public void Render_UnclosedMarkers_StayLiteral()
    {
        var cut = Render("a ** b * c ` d [e](f");

        Assert.Equal("a ** b * c ` d [e](f", cut.Find("[data-testid=run-notes]").TextContent);
        Assert.Empty(cut.FindAll("strong, em, code, a"));
    }

    private IRenderedComponent<MarkdownNotes> Render(string text) => Render<MarkdownNotes>(p => p.Add(n => n.Text, text));

    /// <summary>Every element is one the renderer makes, with only the attributes it sets: no on* handler, no src, no style.</summary>
    private static void AssertOnlyKnownAttributes(AngleSharp.Dom.IElement root)
    {
        var allowed = new Dictionary<string, string[]>
        {
            ["div"] = ["class", "data-testid"],
            ["a"] = ["href", "target", "rel"],
        };
        foreach (var element in root.QuerySelectorAll("*").Prepend(root))
        {
            var name = element.LocalName;
            Assert.Contains(name, new[] { "div", "p", "br", "strong", "em", "code", "pre", "ul", "ol", "li", "a" });
            Assert.All(element.Attributes, a => Assert.Contains(a.Name, allowed.GetValueOrDefault(name, [])));
            if (name == "a")
            {
                Assert.StartsWith("https://", element.GetAttribute("href"), StringComparison.Ordinal);
            }
        }
    }
}
