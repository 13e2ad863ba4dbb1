using System.Globalization;
using System.Text.Json;
using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Evaluation;
using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Execution;
using Dashboard.Runs.Launching;
using Dashboard.Runs.Management;
using Dashboard.Web.Components.Controls;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Controls;

/// <summary>
/// Evaluating a checkpoint of a run really trained here (TorchSharp, tiny models, a few seconds): test accuracy, the
/// confusion matrix's heatmap and the drawing pad's prediction, against the evaluator's own answer for the same input.
/// </summary>
public sealed class EvaluationPanelTests : DashboardTestContext
{
    [Fact]
    public async Task Evaluate_TrainedSpiralsCheckpoint_ShowsTestAccuracyAndDrawsTheConfusionMatrix()
    {
        var checkpoint = await TrainAsync("spirals", sampleLimit: null);
        var cut = Render<EvaluationPanel>(p => p.Add(e => e.CheckpointId, checkpoint.Id));

        await cut.Find("[data-testid=evaluate]").ClickAsync(new());

        var expected = Services.GetRequiredService<CheckpointEvaluator>().EvaluateTestSplit(await Loader.LoadAsync(checkpoint.Id));
        cut.WaitForAssertion(() => Assert.Contains(expected.Accuracy.ToString("P2", CultureInfo.InvariantCulture), cut.Find("[data-testid=test-accuracy]").TextContent), TimeSpan.FromSeconds(30));
        Assert.Contains($"on {expected.Samples:N0} held-out samples", cut.Find("[data-testid=test-accuracy]").TextContent);

        var heatmap = await WaitForHeatmapAsync($"confusion-{checkpoint.Id}");
        Assert.Equal("heatmap", heatmap.GetProperty("type").GetString());
        var z = heatmap.GetProperty("z").EnumerateArray().Select(row => row.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
        Assert.Equal(expected.Confusion, z);
        Assert.Equal(2, z.Length);
        Assert.Equal(expected.Samples, z.Sum(row => row.Sum()));
        Assert.Equal(["0", "1"], heatmap.GetProperty("x").EnumerateArray().Select(v => v.GetString()));
    }

    [Fact]
    public async Task Predict_DigitOnThePad_ShowsTheModelsReadingOfThosePixels()
    {
        var checkpoint = await TrainAsync("mnist", sampleLimit: 600);
        var digit = await TestDigitAsync();
        var pad = JSInterop.SetupModule("./js/digit-pad.js");
        pad.SetupVoid("attach", _ => true).SetVoidResult();
        var read = pad.Setup<float[]>("read", _ => true);
        read.SetResult(digit);
        var cut = Render<EvaluationPanel>(p => p.Add(e => e.CheckpointId, checkpoint.Id).Add(e => e.DrawDigits, true));
        cut.WaitForAssertion(() => Assert.Single(pad.Invocations["attach"]));

        await cut.Find("[data-testid=predict]").ClickAsync(new());

        // The panel hands the pad's [0, 1] pixels to the model normalised as MNIST was for training.
        var probabilities = Services.GetRequiredService<CheckpointEvaluator>()
            .Predict(await Loader.LoadAsync(checkpoint.Id), [.. digit.Select(MnistDataset.Normalize)]);
        var predicted = Array.IndexOf(probabilities, probabilities.Max());
        cut.WaitForAssertion(() => Assert.Equal(
            $"It reads {predicted} ({probabilities[predicted].ToString("P0", CultureInfo.InvariantCulture)})",
            cut.Find("[data-testid=prediction]").TextContent));
        Assert.Single(read.Invocations);
    }

    [Fact]
    public async Task Clear_AfterAPrediction_ClearsThePadAndThePrediction()
    {
        var checkpoint = await TrainAsync("mnist", sampleLimit: 600);
        var pad = JSInterop.SetupModule("./js/digit-pad.js");
        pad.SetupVoid("attach", _ => true).SetVoidResult();
        pad.SetupVoid("clear", _ => true).SetVoidResult();
        pad.Setup<float[]>("read", _ => true).SetResult(await TestDigitAsync());
        var cut = Render<EvaluationPanel>(p => p.Add(e => e.CheckpointId, checkpoint.Id).Add(e => e.DrawDigits, true));
        cut.WaitForAssertion(() => Assert.Single(pad.Invocations["attach"]));
        await cut.Find("[data-testid=predict]").ClickAsync(new());
        cut.WaitForElement("[data-testid=prediction]");

        await cut.FindAll("button").Single(b => b.TextContent == "Clear").ClickAsync(new());

        Assert.Empty(cut.FindAll("[data-testid=prediction]"));
        Assert.Single(pad.Invocations["clear"]);
    }

    [Fact]
    public async Task Evaluate_CheckpointWhoseFilesAreGone_SaysSoAndMarksItMissing()
    {
        var run = await Database.AddRunAsync("no-files");
        var checkpoint = await Database.AddCheckpointAsync(run.Id, 1, 0.5);
        var cut = Render<EvaluationPanel>(p => p.Add(e => e.CheckpointId, checkpoint.Id));

        await cut.Find("[data-testid=evaluate]").ClickAsync(new());

        // The evaluate route's own refusal, naming the status the checkpoint now has.
        cut.WaitForAssertion(() => Assert.StartsWith($"Checkpoint {checkpoint.Id} failed verification and is now marked missing", cut.Find(".notice.error").TextContent));
        Assert.Empty(cut.FindAll("[data-testid=test-accuracy]"));
        Assert.Equal("missing", (await Queries.GetAsync(checkpoint.Id))!.Status);
    }

    private CheckpointLoader Loader => Services.GetRequiredService<CheckpointLoader>();

    private CheckpointQueries Queries => Services.GetRequiredService<CheckpointQueries>();

    /// <summary>Trains a small MLP for two epochs through the app's own executor; returns its last checkpoint.</summary>
    private async Task<CheckpointDto> TrainAsync(string dataset, int? sampleLimit)
    {
        var created = await Services.GetRequiredService<RunLauncher>().CreateAsync(new CreateRunRequest
        {
            Name = $"eval-{dataset}",
            Dataset = dataset,
            Model = "mlp",
            Epochs = 2,
            BatchSize = 64,
            LearningRate = 0.01,
            Optimizer = "adam",
            Seed = 3,
            SampleLimit = sampleLimit,
        });
        var runId = created.Value?.Id ?? throw new InvalidOperationException(string.Join(" ", created.Errors?.SelectMany(e => e.Value) ?? [created.Problem]));
        await Services.GetRequiredService<RunExecutor>().ExecuteAsync(runId, CancellationToken.None);
        var run = await Services.GetRequiredService<RunService>().GetAsync(runId);
        Assert.True(run!.Status == "completed", $"The run ended {run.Status}: {run.Error}");
        return (await Queries.LatestAsync(runId)).Value!;
    }

    /// <summary>A real MNIST digit, back in the pad's [0, 1] pixel range (the dataset holds it normalised).</summary>
    private async Task<float[]> TestDigitAsync()
    {
        Assert.True(Services.GetRequiredService<DatasetRegistry>().TryGet("mnist", out var mnist));
        var raw = await Task.Run(mnist!.Load);
        var zero = MnistDataset.Normalize(0);
        var scale = MnistDataset.Normalize(1) - zero;
        return [.. raw.Features.Take(raw.SampleSize).Select(v => (v - zero) / scale)];
    }

    private async Task<JsonElement> WaitForHeatmapAsync(string chartId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (Plotly.RawPlots.FirstOrDefault(p => p.ChartId == chartId) is { Data.ValueKind: JsonValueKind.Array } plot)
            {
                return Assert.Single(plot.Data.EnumerateArray());
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"No plot {chartId} was drawn.");
    }
}
