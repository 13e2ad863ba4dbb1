using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Models;
using Dashboard.Engine.Policies;
using Dashboard.Engine.Weights;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Weights;
using Dashboard.Web.Components;
using Dashboard.Web.Components.Controls;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Controls;

/// <summary>
/// The weights match report, the "Changes from parent" section, and the checkpoint panel's data hash with its drift
/// confirmation, rendered over real services and a real SQLite file.
/// </summary>
public sealed class WeightsComponentsTests : DashboardTestContext
{
    [Fact]
    public void WeightsMatchTable_Report_OneRowPerTensorWithItsOutcomeAndShapes()
    {
        var match = new WeightsMatchDto(
            ["layers.fc1.weight"], ["layers.fc1.bias"], ["extra.scale"], [new ShapeMismatch("layers.head.weight", [2, 64], [5, 64])], []);

        var cut = Render<WeightsMatchTable>(p => p.Add(c => c.Match, match));

        Assert.Equal("1 matched · 1 missing · 1 shape mismatches · 1 unexpected", cut.Find("[data-testid=match-summary]").TextContent);
        var rows = cut.FindAll("[data-testid=match-row]").Select(r => (r.GetAttribute("data-outcome"), r.QuerySelector("td")!.TextContent)).ToList();
        Assert.Equal(
            [("matched", "layers.fc1.weight"), ("shape-mismatch", "layers.head.weight"), ("missing", "layers.fc1.bias"), ("unexpected", "extra.scale")],
            rows);
        var mismatch = cut.Find("[data-outcome=shape-mismatch]").QuerySelectorAll("td").Select(td => td.TextContent).ToList();
        Assert.Equal(["[2, 64]", "[5, 64]"], mismatch[2..]);
    }

    [Fact]
    public async Task ConfigChanges_FineTunedChild_EachChangedSettingSideBySide()
    {
        var parent = await Database.AddRunAsync("parent");
        var child = await Database.AddRunAsync("child", configure: r => r.ParentRunId = parent.Id, withConfig: c => c with
        {
            LearningRate = 0.002,
            Schedule = new ScheduleConfig { Type = "step", StepEpochs = 2 },
            FineTune = new FineTuneSettings { Freeze = ["layers.fc1"] },
        });

        var cut = Render<ConfigChanges>(p => p.Add(c => c.RunId, child.Id).Add(c => c.ParentRunId, parent.Id));

        cut.WaitForAssertion(() => Assert.NotEmpty(cut.FindAll("[data-testid=config-change]")));
        var changes = cut.FindAll("[data-testid=config-change]")
            .ToDictionary(r => r.GetAttribute("data-path")!, r => r.QuerySelectorAll("td").Skip(1).Select(td => td.TextContent).ToArray());
        Assert.Equal(["0.01", "0.002"], changes["learningRate"]);
        Assert.Equal(["—", "step"], changes["schedule.type"]);
        Assert.Equal(["—", "[\"layers.fc1\"]"], changes["fineTune.freeze"]);
        Assert.DoesNotContain("dataset", changes.Keys);
        Assert.Contains($"parent run #{parent.Id}", cut.Find("h2").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckpointPanel_DataChangedSinceTheCheckpoint_ShowsHashAndResumesOnlyAfterConfirming()
    {
        var run = await Database.AddRunAsync("drifted");
        var checkpoint = await Database.AddCheckpointAsync(run.Id, 1, 0.5, CheckpointKind.Last);
        var trained = new string('c', 64);
        await WriteManifestAsync(checkpoint.Id, run.Id, trained);
        var resumed = new List<int>();

        var cut = Render<CheckpointPanel>(p => p
            .Add(c => c.Checkpoints, new RunCheckpoints([checkpoint]))
            .Add(c => c.CheckpointId, checkpoint.Id)
            .Add(c => c.OnResume, (CheckpointDto c) => resumed.Add(c.Id)));

        cut.WaitForAssertion(() => Assert.Equal("cccccccccccc…", cut.Find("[data-testid=panel-data-hash]").TextContent));
        Assert.Equal(trained, cut.Find("[data-testid=panel-data-hash]").GetAttribute("title"));
        Assert.Contains("is not the data checkpoint", cut.Find("[data-testid=panel-data-warning]").TextContent, StringComparison.Ordinal);

        cut.Find("[data-testid=panel-resume]").Click();
        Assert.Empty(resumed);
        cut.Find("[data-testid=panel-data-confirm-yes]").Click();
        Assert.Equal([checkpoint.Id], resumed);
    }

    /// <summary>A real manifest whose lineage records <paramref name="dataSha256"/> for spirals, whose data has no file now.</summary>
    private async Task WriteManifestAsync(int checkpointId, int runId, string dataSha256)
    {
        var store = Services.GetRequiredService<CheckpointStore>();
        var snapshot = new CheckpointSnapshot(
            CheckpointKind.Last,
            new TrainingPosition(1, 10, 0, 0, 0, 0, 0),
            new Dictionary<string, double>(),
            new TrainingConfig { Dataset = "spirals" },
            new ModelSpec { Architecture = "mlp", InputShape = [2], ClassCount = 2, HiddenSizes = [4] },
            Weights: [1],
            OptimizerState: [2],
            TorchRngState: [3],
            new TrainerState(null, new ScheduleState(0.01, null, 0, 0), null));
        var written = store.Write(CheckpointStore.RunFolder(runId), "drifted", snapshot, new CheckpointLineage(runId, null, null, dataSha256));
        await using var db = Database.CreateContext();
        var row = await db.Checkpoints.SingleAsync(c => c.Id == checkpointId);
        (row.Path, row.Sha256) = (written.RelativePath, written.Sha256);
        await db.SaveChangesAsync();
    }
}
