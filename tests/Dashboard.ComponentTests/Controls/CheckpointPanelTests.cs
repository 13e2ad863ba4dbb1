using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Data.Entities;
using Dashboard.Runs.Contracts;
using Dashboard.Web.Components;
using Dashboard.Web.Components.Controls;
using Microsoft.AspNetCore.Components;
using static Dashboard.ComponentTests.Support.TestData;
using Dashboard.Engine.Policies;

namespace Dashboard.ComponentTests.Controls;

public sealed class CheckpointPanelTests : DashboardTestContext
{
    [Fact]
    public void Render_NoCheckpoint_RendersNothing()
    {
        var cut = Render<CheckpointPanel>();

        Assert.Empty(cut.Markup.Trim());
    }

    [Fact]
    public void Render_DurableCheckpoint_ShowsItsFactsMetricsLineageAndExports()
    {
        var checkpoint = Checkpoint(42, 3, 0.4321, CheckpointKind.Best, pinned: true) with
        {
            Metrics = new Dictionary<string, double> { ["valLoss"] = 0.4321, ["loss"] = 0.25, ["accuracy"] = 0.9 },
            SizeBytes = 3 << 20,
        };

        var cut = Render<CheckpointPanel>(p => p.Picked(checkpoint).Add(c => c.ParentRunId, 7).Add(c => c.ParentCheckpointId, 70));

        Assert.Equal("42", cut.Find("[data-testid=checkpoint-panel]").GetAttribute("data-checkpoint-id"));
        var facts = cut.FindAll(".kv dt").Zip(cut.FindAll(".kv dd"), (dt, dd) => (dt.TextContent, dd.TextContent.Trim())).ToDictionary();
        Assert.Equal("3", facts["Epoch"]);
        Assert.Equal("30", facts["Step"]);
        Assert.Equal("best · pinned", facts["Kind"]);
        Assert.Equal(CheckpointStatus.Durable, facts["Status"]);
        Assert.Equal("3.0 MiB", facts["Size"]);
        Assert.Equal(new string('a', 64), facts["SHA-256"]);
        Assert.Contains("branched from run #7 (checkpoint #70)", System.Text.RegularExpressions.Regex.Replace(facts["Lineage"], @"\s+", " "));
        Assert.Equal(["accuracy", "loss", "valLoss"], cut.FindAll(".metrics th").Select(th => th.TextContent));
        Assert.Equal(["0.9", "0.25", "0.4321"], cut.FindAll(".metrics td").Select(td => td.TextContent));
        Assert.Equal(
            ["api/checkpoints/42/export?format=safetensors", "api/checkpoints/42/export?format=torchsharp", "api/checkpoints/42/export?format=bundle"],
            cut.FindAll("a[download]").Select(a => a.GetAttribute("href")));
        Assert.NotNull(cut.Find("[data-testid=evaluation-panel]"));
    }

    [Fact]
    public void Render_Pinned_OffersUnpinAndRefusesDelete()
    {
        var cut = Render<CheckpointPanel>(p => p.Picked(Checkpoint(1, 1, 0.5, pinned: true)));

        Assert.Equal("Unpin", cut.Find("[data-testid=panel-pin]").TextContent);
        Assert.True(cut.Find("[data-testid=panel-delete]").HasAttribute("disabled"));
        Assert.Equal("Unpin it first", cut.Find("[data-testid=panel-delete]").GetAttribute("title"));
    }

    [Theory]
    [InlineData(CheckpointStatus.Deleted)]
    [InlineData(CheckpointStatus.Corrupt)]
    [InlineData(CheckpointStatus.Missing)]
    public void Render_NotDurable_OffersNoActions(string status)
    {
        var cut = Render<CheckpointPanel>(p => p.Picked(Checkpoint(1, 1, 0.5, status: status)));

        Assert.Contains("Only durable checkpoints can be resumed or exported.", cut.Markup);
        Assert.Empty(cut.FindAll(".panel-actions button"));
        Assert.Empty(cut.FindAll("a[download]"));
        Assert.Empty(cut.FindAll("[data-testid=evaluation-panel]"));
    }

    [Fact]
    public void Render_WithNote_ShowsWhyThisCheckpointWasChosen()
    {
        var cut = Render<CheckpointPanel>(p => p.Picked(Checkpoint(1, 1, 0.5)).Add(c => c.Note, "No checkpoint was kept at epoch 4."));

        Assert.Equal("No checkpoint was kept at epoch 4.", cut.Find("[data-testid=selection-note]").TextContent);
    }

    [Fact]
    public async Task Buttons_Clicked_HandTheCheckpointToTheirCallbacks()
    {
        var checkpoint = Checkpoint(5, 2, 0.5);
        var calls = new List<string>();
        var cut = Render<CheckpointPanel>(p => p
            .Picked(checkpoint)
            .Add(c => c.OnResume, c => calls.Add($"resume {c.Id}"))
            .Add(c => c.OnPin, c => calls.Add($"pin {c.Id}"))
            .Add(c => c.OnDelete, c => calls.Add($"delete {c.Id}"))
            .Add(c => c.OnClose, () => calls.Add("close")));

        await cut.Find("[data-testid=panel-resume]").ClickAsync(new());
        await cut.Find("[data-testid=panel-pin]").ClickAsync(new());
        await cut.Find("[data-testid=panel-delete]").ClickAsync(new());
        await cut.Find("button[aria-label=Close]").ClickAsync(new());

        Assert.Equal(["resume 5", "pin 5", "delete 5", "close"], calls);
    }

    [Fact]
    public void Render_Busy_DisablesResume()
    {
        var cut = Render<CheckpointPanel>(p => p.Picked(Checkpoint(1, 1, 0.5)).Add(c => c.Busy, true));

        Assert.True(cut.Find("[data-testid=panel-resume]").HasAttribute("disabled"));
    }

    [Fact]
    public void FineTune_Opened_ShowsTheFormUntilAnotherCheckpointIsPicked()
    {
        RenderFragment<CheckpointDto> form = c => builder => builder.AddMarkupContent(0, $"<p data-testid=\"form\">fine-tune #{c.Id}</p>");
        var cut = Render<CheckpointPanel>(p => p.Picked(Checkpoint(1, 1, 0.5)).Add(c => c.FineTune, form));

        cut.Find("[data-testid=panel-finetune]").Click();
        Assert.Equal("fine-tune #1", cut.WaitForElement("[data-testid=form]").TextContent);
        Assert.Empty(cut.FindAll("[data-testid=panel-resume]"));

        cut.Render(p => p.Picked(Checkpoint(2, 2, 0.4)));

        Assert.Empty(cut.FindAll("[data-testid=form]"));
        Assert.NotNull(cut.Find("[data-testid=panel-resume]"));
    }

    [Fact]
    public void Render_WithoutFineTuneForm_OffersNoFineTuneButton()
    {
        var cut = Render<CheckpointPanel>(p => p.Picked(Checkpoint(1, 1, 0.5)));

        Assert.Empty(cut.FindAll("[data-testid=panel-finetune]"));
    }

    [Theory]
    [InlineData(512L, "512 B")]
    [InlineData(1536L, "1.5 KiB")]
    [InlineData(3L << 20, "3.0 MiB")]
    [InlineData(5L << 30, "5.0 GiB")]
    public void FormatBytes_Sizes_UseBinaryUnits(long bytes, string expected) => Assert.Equal(expected, CheckpointPanel.FormatBytes(bytes));

    [Fact]
    public void Checkpoints_PickedOneChangesInTheSharedList_ShowsItsNewStateWithNoOtherCopyToSync()
    {
        var checkpoints = new RunCheckpoints([Checkpoint(1, 1, 0.5), Checkpoint(2, 2, 0.4)]);
        var cut = Render<CheckpointPanel>(p => p.Add(c => c.Checkpoints, checkpoints).Add(c => c.CheckpointId, 2));
        Assert.Equal("Pin", cut.Find("[data-testid=panel-pin]").TextContent);

        checkpoints.Update(Checkpoint(2, 2, 0.4, pinned: true));
        cut.Render(p => p.Add(c => c.Checkpoints, checkpoints).Add(c => c.CheckpointId, 2));

        Assert.Equal("Unpin", cut.Find("[data-testid=panel-pin]").TextContent);
        Assert.Equal("2", cut.Find("[data-checkpoint-id]").GetAttribute("data-checkpoint-id"));
    }
}

/// <summary>Shows the panel one picked checkpoint, as the run page does: its id in a list holding it.</summary>
internal static class CheckpointPanelParameters
{
    public static ComponentParameterCollectionBuilder<CheckpointPanel> Picked(this ComponentParameterCollectionBuilder<CheckpointPanel> parameters, CheckpointDto checkpoint) =>
        parameters.Add(c => c.Checkpoints, new RunCheckpoints([checkpoint])).Add(c => c.CheckpointId, checkpoint.Id);
}
