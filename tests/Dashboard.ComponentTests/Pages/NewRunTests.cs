using Bunit;
using Bunit.TestDoubles;
using Dashboard.ComponentTests.Support;
using Dashboard.Data.Entities;
using Dashboard.Engine.Training.Optimizers;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Web.Components.Pages;
using Microsoft.AspNetCore.Components;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Pages;

public sealed class NewRunTests : DashboardTestContext
{
    private const string EpochsError = "Epochs must be between 1 and 10,000.";
    private const string LearningRateError = "The learning rate must be a finite number above 0 and at most 10.";

    private BunitNavigationManager Navigation => (BunitNavigationManager)Services.GetRequiredService<NavigationManager>();

    [Fact]
    public async Task Submit_ZeroEpochsAndNegativeLearningRate_ShowsBothMessagesBesideTheirFieldsAndCreatesNoRun()
    {
        var cut = Render<NewRun>();
        cut.Find("[data-testid=epochs]").Change("0");
        cut.Find("[data-testid=learning-rate]").Change("-1");

        await cut.Find("form").SubmitAsync();

        Assert.Equal([EpochsError], MessagesBeside(cut, "epochs"));
        Assert.Equal([LearningRateError], MessagesBeside(cut, "learning-rate"));
        Assert.Equal([EpochsError, LearningRateError], cut.FindAll(".validation-errors li").Select(li => li.TextContent));
        Assert.Equal(0, await Database.CountRunsAsync());
        Assert.False(Queue.Reader.TryRead(out _));
        Assert.Empty(Navigation.History);
    }

    [Fact]
    public async Task Change_FieldWithAServerMessage_ClearsOnlyThatMessage()
    {
        var cut = Render<NewRun>();
        cut.Find("[data-testid=epochs]").Change("0");
        cut.Find("[data-testid=learning-rate]").Change("-1");
        await cut.Find("form").SubmitAsync();

        cut.Find("[data-testid=epochs]").Change("3");

        Assert.Empty(MessagesBeside(cut, "epochs"));
        Assert.Equal([LearningRateError], MessagesBeside(cut, "learning-rate"));
    }

    [Fact]
    public async Task Submit_ValidForm_CreatesAQueuedRunAndNavigatesToIt()
    {
        var published = new TaskCompletionSource<TrainingEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = Broadcaster.Subscribe(e =>
        {
            published.TrySetResult(e);
            return Task.CompletedTask;
        });
        var cut = Render<NewRun>();
        cut.Find("input:not([data-testid])").Change("spirals-baseline");
        cut.Find("[data-testid=dataset]").Change("spirals");
        cut.Find("[data-testid=epochs]").Change("3");
        cut.Find("[data-testid=learning-rate]").Change("0.05");
        cut.Find("[data-testid=optimizer]").Change(OptimizerNames.Sgd);

        await cut.Find("form").SubmitAsync();

        await using var db = Database.CreateContext();
        var run = await db.Runs.SingleAsync();
        Assert.Equal(("spirals-baseline", RunStatus.Queued, "spirals", 3), (run.Name, run.Status, run.Dataset, run.Epochs));
        var config = RunConfigCodec.Read(run.ConfigJson)!;
        Assert.Equal((0.05, OptimizerNames.Sgd), (config.LearningRate, config.Optimizer));
        Assert.Equal($"http://localhost/runs/{run.Id}", Navigation.Uri);
        Assert.True(Queue.Reader.TryRead(out var queued));
        Assert.Equal(run.Id, queued);
        Assert.Equal(new RunStatusChangedEvent(run.Id, RunStatus.Queued), await published.Task.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void Render_Always_OffersTheRegisteredDatasetsModelsAndOptimizers()
    {
        var cut = Render<NewRun>();

        Assert.Equal(["mnist", "spirals"], OptionValues(cut, "dataset"));
        Assert.Contains("mlp", OptionValues(cut, "model"));
        Assert.Equal(OptimizerNames.All, OptionValues(cut, "optimizer"));
        Assert.Equal("10", cut.Find("[data-testid=epochs]").GetAttribute("value"));
    }

    private static List<string> MessagesBeside(IRenderedComponent<NewRun> cut, string testId) =>
        [.. cut.Find($"[data-testid={testId}]").ParentElement!.QuerySelectorAll(".validation-message").Select(m => m.TextContent)];

    private static List<string> OptionValues(IRenderedComponent<NewRun> cut, string testId) =>
        [.. cut.FindAll($"[data-testid={testId}] option").Select(o => o.GetAttribute("value") ?? "")];
}
