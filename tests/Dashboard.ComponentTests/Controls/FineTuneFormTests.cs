using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Data.Entities;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Training.Optimizers;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Launching;
using Dashboard.Web.Components.Controls;
using Dashboard.Web.Components.Pages;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Controls;

/// <summary>The fine-tune form against the real checkpoint service and model registry on a real SQLite file.</summary>
public sealed class FineTuneFormTests : DashboardTestContext
{
    [Fact]
    public async Task Render_FromARunsConfig_PrefillsLearningRateOptimizerDatasetAndClasses()
    {
        var (run, checkpoint) = await SeedAsync(c => c with { Optimizer = OptimizerNames.AdamW, LearningRate = 0.02, ClassFilter = [1] });

        var cut = RenderForm(checkpoint, await ConfigOfAsync(run.Id));

        Assert.Equal($"Fine-tune from checkpoint #{checkpoint.Id}", cut.Find("h4").TextContent);
        Assert.Equal("0.002", cut.Find("[data-testid=finetune-learning-rate]").GetAttribute("value"));
        Assert.Equal(OptimizerNames.AdamW, cut.FindAll("select")[0].GetAttribute("value"));
        Assert.Equal("spirals", cut.FindAll("select")[1].GetAttribute("value"));
        Assert.False(cut.Find("[data-testid=finetune-class-0]").HasAttribute("checked"));
        Assert.True(cut.Find("[data-testid=finetune-class-1]").HasAttribute("checked"));
    }

    [Fact]
    public async Task Submit_BadOverrides_ShowsEachFieldsErrorAndStartsNothing()
    {
        var (run, checkpoint) = await SeedAsync();
        var cut = RenderForm(checkpoint, await ConfigOfAsync(run.Id));

        cut.Find("[data-testid=finetune-epochs]").Change("0");
        cut.Find("[data-testid=finetune-learning-rate]").Change("-1");
        cut.FindAll("select")[1].Change("mnist");
        await cut.Find("[data-testid=finetune-start]").ClickAsync(new());

        cut.WaitForAssertion(() => Assert.Equal(["epochs", "learningRate", "dataset"], cut.FindAll(".validation-message").Select(m => m.GetAttribute("data-field"))));
        Assert.Contains("Epochs must be between", Message(cut, "epochs"));
        Assert.Contains("The learning rate must be", Message(cut, "learningRate"));
        Assert.Contains("'mnist' has samples [1, 28, 28] in 10 classes; the model takes [2] in 2.", Message(cut, "dataset"));
        Assert.Equal(1, await Database.CountRunsAsync());
    }

    [Fact]
    public async Task Submit_EveryLayerFrozen_SaysNothingIsLeftToTrain()
    {
        var (run, checkpoint) = await SeedAsync();
        var layers = LayersOf();
        var cut = RenderForm(checkpoint, await ConfigOfAsync(run.Id), layers);

        for (var i = 0; i < layers.Count; i++)
        {
            // Found again each time: every change re-renders the form.
            cut.FindAll("fieldset:last-of-type input[type=checkbox]")[i].Change(true);
        }

        await cut.Find("[data-testid=finetune-start]").ClickAsync(new());

        cut.WaitForAssertion(() => Assert.Equal("Freezing every parameter leaves nothing to train.", Message(cut, "freeze")));
        Assert.Equal(1, await Database.CountRunsAsync());
    }

    [Fact]
    public async Task Submit_ValidOverridesWithAFrozenLayer_StartsAChildRunWithThem()
    {
        var (run, checkpoint) = await SeedAsync();
        await WriteCheckpointFilesAsync(run.Id);
        int? started = null;
        var cut = RenderForm(checkpoint, await ConfigOfAsync(run.Id), LayersOf(), id => started = id);

        cut.Find("[data-testid=finetune-epochs]").Change("2");
        cut.FindAll("fieldset:last-of-type label.chip").Single(l => l.TextContent.Trim() == "layers.fc1").QuerySelector("input")!.Change(true);
        cut.Find("[data-testid=finetune-class-0]").Change(true);
        await cut.Find("[data-testid=finetune-start]").ClickAsync(new());

        cut.WaitForAssertion(() => Assert.NotNull(started));
        Assert.Empty(cut.FindAll(".validation-message"));
        var child = await ConfigOfAsync(started!.Value);
        Assert.Equal((2, 0.001), (child.Epochs, child.LearningRate));
        Assert.Equal(["layers.fc1"], child.FineTune!.Freeze);
        Assert.Equal([0], child.ClassFilter!);
    }

    [Fact]
    public async Task FreezeList_OnTheRunPage_NamesTheModelsLayersFromItsParameterNames()
    {
        var (run, _) = await SeedAsync();
        var cut = Render<RunDetail>(p => p.Add(r => r.RunId, run.Id));
        cut.WaitForElement("[data-testid=checkpoints-table] tbody tr").Click();

        cut.WaitForElement("[data-testid=panel-finetune]").Click();
        cut.WaitForElement(".finetune");

        // The spirals MLP: layers.fc1.weight, layers.fc1.bias, layers.fc2.…, layers.head.…, one box per module.
        Assert.Equal(["layers.fc1", "layers.fc2", "layers.head"], cut.FindAll(".finetune fieldset:last-of-type label.chip").Select(l => l.TextContent.Trim()));
        Assert.Equal(2, cut.FindAll(".finetune [data-testid^=finetune-class-]").Count);
    }

    private IRenderedComponent<FineTuneForm> RenderForm(CheckpointDto checkpoint, TrainingConfig parent, IReadOnlyList<string>? layers = null, Action<int>? started = null) =>
        Render<FineTuneForm>(p => p
            .Add(f => f.CheckpointId, checkpoint.Id)
            .Add(f => f.ParentConfig, parent)
            .Add(f => f.Datasets, [.. Services.GetRequiredService<DatasetRegistry>().All.Select(DatasetDto.From)])
            .Add(f => f.Layers, layers ?? [])
            .Add(f => f.ClassCount, 2)
            .Add(f => f.Submit, request => Services.GetRequiredService<RunLauncher>().FineTuneAsync(checkpoint.Id, request))
            .Add(f => f.OnStarted, id => started?.Invoke(id)));

    /// <summary>The modules the real spirals MLP has, from its parameter names, as the run page lists them.</summary>
    private IReadOnlyList<string> LayersOf()
    {
        var datasets = Services.GetRequiredService<DatasetRegistry>();
        var models = Services.GetRequiredService<Dashboard.Engine.Models.ModelRegistry>();
        Assert.True(datasets.TryGet("spirals", out var source));
        Assert.True(models.TryGet("mlp", out var mlp));
        var names = Services.GetRequiredService<FineTunePlanner>().ParameterNames(mlp.DefaultSpec(source.Info));
        return [.. names.Select(n => n[..n.LastIndexOf('.')]).Distinct()];
    }

    private static string Message(IRenderedComponent<FineTuneForm> cut, string field) =>
        cut.Find($".validation-message[data-field={field}]").TextContent;

    private async Task<(Run Run, CheckpointDto Checkpoint)> SeedAsync(Func<TrainingConfig, TrainingConfig>? withConfig = null)
    {
        var run = await Database.AddRunAsync("parent", withConfig: withConfig);
        await Database.AddEpochAsync(run.Id, 1, 0.9, 1.0, 0.6, 0.55);
        return (run, await Database.AddCheckpointAsync(run.Id, 1, 1.0));
    }

    private async Task<TrainingConfig> ConfigOfAsync(int runId)
    {
        await using var db = Database.CreateContext();
        var row = await db.Runs.SingleAsync(r => r.Id == runId);
        return RunConfigCodec.Read(row.ConfigJson)!;
    }
}
