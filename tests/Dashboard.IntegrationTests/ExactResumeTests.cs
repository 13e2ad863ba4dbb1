using Dashboard.TestSupport;
using Dashboard.Web.Contracts;

namespace Dashboard.IntegrationTests;

/// <summary>
/// Exact resume across processes, on the CPU: a run whose process is killed or stopped and that resumes in a NEW process
/// ends with bitwise the same weights, and the same per-epoch metrics, as a run with the same seed that never stopped.
/// </summary>
public sealed class ExactResumeTests : IAsyncLifetime
{
    private const int Epochs = 6;

    private DashboardServer? _server;

    private DashboardServer Server => _server ?? throw new InvalidOperationException("Start the server first.");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task AutoResume_AfterSigkillMidRun_EndsWithTheWeightsAndMetricsOfAnUninterruptedRun()
    {
        await StartAsync(autoResume: true);
        var straight = await TrainStraightAsync("straight");
        var run = await Server.CreateRunAsync(Body("killed"));
        await Server.WaitForCheckpointsAsync(run.Id, 2);

        Server.Kill();
        await Server.RestartAsync();

        // Training:AutoResume is on by default: the interrupted run continues by itself in the new process.
        var finished = await Server.WaitForRunStatusAsync(run.Id, "completed", TimeSpan.FromSeconds(180));
        await AssertSameAsync(straight, finished);
    }

    [Fact]
    public async Task ResumeRequest_AfterSigtermInANewProcess_EndsWithTheWeightsAndMetricsOfAnUninterruptedRun()
    {
        await StartAsync(autoResume: false);
        var straight = await TrainStraightAsync("straight");
        var run = await Server.CreateRunAsync(Body("stopped"));
        await Server.WaitForCheckpointsAsync(run.Id, 2);

        Assert.Equal(0, await Server.StopAsync());
        await Server.RestartAsync();
        Assert.Equal("interrupted", (await Server.GetRunAsync(run.Id)).Status);
        // A stop can land right after a step checkpoint, at the same step: the later row is the newest, as the server orders them.
        var newest = (await Server.GetCheckpointsAsync(run.Id)).Where(c => c.Status == "durable").OrderBy(c => c.Step).ThenBy(c => c.Id).Last();
        Assert.Equal("interrupt", newest.Kind);

        using var response = await Server.Client.PostAsync($"api/checkpoints/{newest.Id}/resume", null);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);

        var finished = await Server.WaitForRunStatusAsync(run.Id, "completed", TimeSpan.FromSeconds(180));
        await AssertSameAsync(straight, finished);
    }

    /// <summary>
    /// MNIST MLP with a step checkpoint every 20 batches, so a kill lands between checkpoints and often mid-epoch; the
    /// step schedule and early stopping (which never triggers) carry state that must survive too.
    /// </summary>
    private async Task StartAsync(bool autoResume) => _server = await DashboardServer.StartAsync(new Dictionary<string, string>
    {
        ["Training:MaxConcurrentRuns"] = "1",
        ["Training:Device"] = "cpu",
        ["Training:AutoResume"] = autoResume ? "true" : "false",
    });

    private static object Body(string name) => new
    {
        name,
        dataset = "mnist",
        model = "mlp",
        epochs = Epochs,
        batchSize = 32,
        learningRate = 0.002,
        optimizer = "adam",
        seed = 1234,
        sampleLimit = 4000,
        checkpoint = new { everyEpochs = 1, everySteps = 20 },
        schedule = new { type = "step", stepEpochs = 2, gamma = 0.5 },
        earlyStopping = new { patience = 100 },
    };

    private async Task<RunDto> TrainStraightAsync(string name)
    {
        var run = await Server.CreateRunAsync(Body(name));
        return await Server.WaitForRunStatusAsync(run.Id, "completed", TimeSpan.FromSeconds(180));
    }

    private async Task AssertSameAsync(RunDto straight, RunDto resumed)
    {
        var expected = await Server.GetMetricsAsync(straight.Id);
        var actual = await Server.GetMetricsAsync(resumed.Id);
        Assert.Equal(
            expected.Select(m => (m.Epoch, m.Step, m.Loss, m.ValLoss, m.Accuracy, m.ValAccuracy, m.LearningRate)),
            actual.Select(m => (m.Epoch, m.Step, m.Loss, m.ValLoss, m.Accuracy, m.ValAccuracy, m.LearningRate)));

        // Every step once, bitwise as in the run that never stopped: steps replayed after the checkpoint replaced those the
        // first process had stored past it.
        var expectedSteps = await Server.GetStepsAsync(straight.Id, "?buckets=5000");
        var actualSteps = await Server.GetStepsAsync(resumed.Id, "?buckets=5000");
        Assert.False(expectedSteps.Downsampled);
        Assert.Equal(expected[^1].Step, expectedSteps.Total);
        Assert.Equal(Enumerable.Range(1, (int)expectedSteps.Total).Select(s => (long)s), expectedSteps.Points.Select(p => p.Step));
        Assert.Equal(expectedSteps.Points.Select(p => (p.Step, p.Loss)), actualSteps.Points.Select(p => (p.Step, p.Loss)));

        var last = (await Server.GetCheckpointsAsync(straight.Id)).Single(c => c.Kind == "last");
        var resumedLast = (await Server.GetCheckpointsAsync(resumed.Id)).Single(c => c.Kind == "last");
        Assert.Equal(
            CheckpointDisk.FileHash(Server.CheckpointDirectory, last, "weights.bin"),
            CheckpointDisk.FileHash(Server.CheckpointDirectory, resumedLast, "weights.bin"));
    }
}
