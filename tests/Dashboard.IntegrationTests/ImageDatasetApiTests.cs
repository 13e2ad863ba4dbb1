using System.Net;
using System.Net.Http.Json;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Datasets;
using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary>
/// Image-folder zips through the real server: uploaded over multipart, trained on with the CNN and TorchVision's
/// ResNet-18, resumed from a mid-run checkpoint into bitwise the same weights, evaluated; bad zips refused by name.
/// </summary>
public sealed class ImageDatasetApiTests(DashboardServerFixture fixture) : IClassFixture<DashboardServerFixture>
{
    // 60 horizontal and 60 vertical bars of 16×16 under one top folder, as a zipped folder looks.
    private static readonly byte[] Shapes = SyntheticImages.BarsZip(perClass: 60, size: 16, seed: 11, top: "shapes");

    private Dashboard.ServerProcess.DashboardServer Server => fixture.Server;

    private static object Body(string name, string dataset, string model, int epochs, int? everySteps) => new
    {
        name,
        dataset,
        model,
        epochs,
        batchSize = 16,
        learningRate = 0.005,
        optimizer = "adam",
        seed = 21,
        checkpoint = new { everyEpochs = 1, everySteps },
    };

    /// <summary>
    /// Trains straight, then resumes from a checkpoint before the end (a new branch run, in the same process) and checks the
    /// branch ends with the straight run's weights, bit for bit, and its epochs' metrics; returns the straight run's last checkpoint.
    /// </summary>
    private async Task<CheckpointDto> TrainAndResumeExactlyAsync(object body, Func<IReadOnlyList<CheckpointDto>, CheckpointDto> resumeFrom)
    {
        var straight = await Server.WaitForRunStatusAsync((await Server.CreateRunAsync(body)).Id, "completed", TimeSpan.FromSeconds(300));
        var checkpoints = await Server.GetCheckpointsAsync(straight.Id);
        var from = resumeFrom(checkpoints);

        using var response = await Server.Client.PostAsync($"api/checkpoints/{from.Id}/resume", null);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var branchId = (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("runId").GetInt32();
        Assert.NotEqual(straight.Id, branchId);
        var branch = await Server.WaitForRunStatusAsync(branchId, "completed", TimeSpan.FromSeconds(300));
        Assert.Equal(from.Step, branch.StartStep);

        var last = checkpoints.Single(c => c.Kind == "last");
        var branchLast = (await Server.GetCheckpointsAsync(branch.Id)).Single(c => c.Kind == "last");
        Assert.Equal(last.Step, branchLast.Step);
        Assert.Equal(
            CheckpointDisk.FileHash(Server.CheckpointDirectory, last, "weights.bin"),
            CheckpointDisk.FileHash(Server.CheckpointDirectory, branchLast, "weights.bin"));
        var expected = (await Server.GetMetricsAsync(straight.Id)).Where(m => m.Step > from.Step).Select(m => (m.Epoch, m.Loss, m.ValLoss, m.ValAccuracy));
        var actual = (await Server.GetMetricsAsync(branch.Id)).Where(m => m.Step > from.Step).Select(m => (m.Epoch, m.Loss, m.ValLoss, m.ValAccuracy));
        Assert.Equal(expected, actual);
        return last;
    }

    [Fact]
    public async Task PostDataset_ShapesZip_CnnLearnsItResumesExactlyAndEvaluates()
    {
        var dataset = await Server.UploadDatasetAsync(Shapes, "shapes.zip", ("name", "shapes16"), ("imageSize", "16"), ("color", "grayscale"));

        Assert.Equal(("images", "classification", 2, 120), (dataset.Kind, dataset.Task, dataset.ClassCount, dataset.Rows));
        Assert.Equal([1, 16, 16], dataset.SampleShape);
        Assert.Equal([new DatasetClassDto("horizontal", 60), new DatasetClassDto("vertical", 60)], dataset.Classes);

        // Resumed from the first epoch's end: the branch replays epochs 2 to 6.
        var last = await TrainAndResumeExactlyAsync(Body("shapes-cnn", "shapes16", "cnn", 6, null), c => c.Where(x => x.Epoch == 1).OrderBy(x => x.Step).Last());

        var metrics = await Server.GetMetricsAsync(last.RunId);
        Assert.True(metrics[^1].ValAccuracy >= 0.8, $"valAccuracy {metrics[^1].ValAccuracy} (chance is 0.5)");
        using var evaluated = await Server.Client.PostAsync($"api/checkpoints/{last.Id}/evaluate", null);
        Assert.Equal(HttpStatusCode.OK, evaluated.StatusCode);
        var evaluation = (await evaluated.Content.ReadFromJsonAsync<EvaluationDto>(JsonDefaults.Options))!;
        Assert.Equal(2, evaluation.Confusion.Length);
        Assert.True(evaluation.Accuracy >= 0.7, $"test accuracy {evaluation.Accuracy}");
    }

    [Fact]
    public async Task PostDataset_ShapesZipAt32_ResNet18TrainsAndResumesBitwiseFromMidEpoch()
    {
        // Same zip, other size: the stored file is shared by its hash, the description differs.
        var dataset = await Server.UploadDatasetAsync(Shapes, "shapes.zip", ("name", "shapes32"), ("imageSize", "32"));
        Assert.Equal([1, 32, 32], dataset.SampleShape);

        // A step checkpoint every 3 batches lands mid-epoch: batch-norm statistics and the optimizer's state must carry over.
        await TrainAndResumeExactlyAsync(Body("shapes-resnet", "shapes32", "resnet18", 1, 3), c => c.Where(x => x.Step == 3).Single());
    }

    [Theory]
    [InlineData("notes", "file", "'a/notes.txt' is not an image")]
    [InlineData("bomb", "file", "'b/bomb.png' inflates more than 100-fold")]
    [InlineData("size", "imageSize", "between 8 and 256")]
    [InlineData("colour", "color", "grayscale or rgb")]
    public async Task PostDataset_BadZip_Is400NamingTheEntryOrField(string problem, string field, string expected)
    {
        var png = SyntheticImages.Solid(SkiaSharp.SKColors.White, 8, 8);
        byte[] zip = problem switch
        {
            "notes" => SyntheticImages.Zip([("a/1.png", png), ("a/notes.txt", "x"u8.ToArray()), ("b/1.png", png)]),
            "bomb" => SyntheticImages.Zip([("a/1.png", png), ("b/bomb.png", new byte[8 * 1024 * 1024])]),
            _ => SyntheticImages.Zip([("a/1.png", png), ("b/1.png", png)]),
        };

        // Named .csv on purpose: the zip is told by its signature, not its name.
        using var response = await Server.PostDatasetAsync(zip, "upload.csv", ("name", "bad-" + problem),
            ("imageSize", problem == "size" ? "4" : "16"), ("color", problem == "colour" ? "sepia" : "rgb"));

        var errors = await ProblemAssert.IsValidationProblemAsync(response, field);
        Assert.Contains(expected, errors.GetProperty(field)[0].GetString(), StringComparison.Ordinal);
        var listed = await Server.Client.GetStringAsync("api/datasets");
        Assert.DoesNotContain("bad-" + problem, listed, StringComparison.Ordinal);
    }
}
