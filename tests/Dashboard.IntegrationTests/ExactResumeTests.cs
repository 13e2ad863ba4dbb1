using Dashboard.Data.Entities;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.IntegrationTests;

/// <summary>
/// Exact resume across processes, on the CPU: a run whose process is killed or stopped and that resumes in a NEW process
/// ends with bitwise the same weights, and the same per-epoch metrics, as a run with the same seed that never stopped.
/// Equal results alone would also come from a server that ignored the checkpoint and trained again from scratch, so each
/// test also checks where the new process started: the checkpoint it continued from, and that checkpoint's step.
/// </summary>
public sealed class ExactResumeTests : ExactResumeSuite
{
    // On SQLite only: the PostgreSQL class keeps to the SIGKILL case, whose replayed steps exercise the upsert, to keep
    // the suite's time down; a stop replays next to nothing.
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
        AssertStartedAt(finished, newest.Id, newest.Step, straight);
        await AssertSameAsync(straight, finished);
    }
}

/// <summary>The SIGKILL test of <see cref="ExactResumeTests"/> with the database on PostgreSQL, where a replayed step is an upsert.</summary>
public sealed class ExactResumePostgresTests : ExactResumeSuite
{
    protected override bool OnPostgres => true;
}

/// <summary>The exact-resume test run once per storage provider by the classes above, and what the tests share.</summary>
public abstract class ExactResumeSuite : IAsyncLifetime
{
    private const int Epochs = 6;

    protected virtual bool OnPostgres => false;

    private DashboardServer? _server;

    protected DashboardServer Server => _server ?? throw new InvalidOperationException("Start the server first.");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task AutoResume_AfterSigkillMidRun_EndsWithTheWeightsAndMetricsOfAnUninterruptedRun()
    {
        await StartAsync(autoResume: true);
        var straight = await TrainStraightAsync("straight");
        var run = await Server.CreateRunAsync(Body("killed"));
        await Server.WaitForCheckpointsAsync(run.Id, 2);

        Server.Kill();

        // Read while the process is down: the newest checkpoint the killed process made durable is where it must continue.
        var resumePoint = await Server.ReadDatabaseAsync(db => db.Checkpoints
            .Where(c => c.RunId == run.Id && c.Status == CheckpointStatus.Durable)
            .OrderByDescending(c => c.Step).ThenByDescending(c => c.Id)
            .Select(c => new { c.Id, c.Step })
            .FirstAsync());
        await Server.RestartAsync();

        // Training:AutoResume is on by default: the interrupted run continues by itself in the new process.
        var finished = await Server.WaitForRunStatusAsync(run.Id, "completed", TimeSpan.FromSeconds(180));
        AssertStartedAt(finished, resumePoint.Id, resumePoint.Step, straight);
        await AssertSameAsync(straight, finished);
        await AfterResumeAsync(straight, finished);
    }

    /// <summary>What a subclass checks further once the resumed run matched the straight one.</summary>
    protected virtual Task AfterResumeAsync(RunDto straight, RunDto resumed) => Task.CompletedTask;

    /// <summary>What a subclass sets up once the first server is up (its dataset, say); the data folder outlives restarts.</summary>
    protected virtual Task PrepareAsync() => Task.CompletedTask;

    /// <summary>
    /// The resumed process continued from <paramref name="checkpointId"/>: the engine reported that checkpoint's step as
    /// already taken, so the first step it trained was the one after it, not step 1.
    /// </summary>
    internal static void AssertStartedAt(RunDto resumed, int checkpointId, long checkpointStep, RunDto straight)
    {
        Assert.Null(straight.ResumedFromCheckpointId);
        Assert.Equal(0, straight.StartStep);
        Assert.True(checkpointStep > 0, "The run was stopped before its first checkpoint; nothing would be resumed.");
        Assert.Equal(checkpointId, resumed.ResumedFromCheckpointId);
        Assert.Equal(checkpointStep, resumed.StartStep);
    }

    /// <summary>
    /// MNIST MLP with a step checkpoint every 20 batches, so a kill lands between checkpoints and often mid-epoch; the
    /// step schedule and early stopping (which never triggers) carry state that must survive too.
    /// </summary>
    protected async Task StartAsync(bool autoResume)
    {
        var settings = new Dictionary<string, string>
        {
            ["Training:MaxConcurrentRuns"] = "1",
            ["Training:Device"] = "cpu",
            ["Training:AutoResume"] = autoResume ? "true" : "false",
        };
        if (OnPostgres)
        {
            settings = new Dictionary<string, string>(settings.Concat(await PostgresTestSettings.RequireAsync()));
        }

        _server = await DashboardServer.StartAsync(settings);
        await PrepareAsync();
    }

    protected virtual object Body(string name) => DefaultBody(name);

    internal static object DefaultBody(string name) => new
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

    protected async Task<RunDto> TrainStraightAsync(string name)
    {
        var run = await Server.CreateRunAsync(Body(name));
        return await Server.WaitForRunStatusAsync(run.Id, "completed", TimeSpan.FromSeconds(180));
    }

    protected Task AssertSameAsync(RunDto straight, RunDto resumed) => AssertSameRunsAsync(Server, straight, resumed);

    /// <summary>Every epoch's metrics, every step's loss and the last weights of <paramref name="resumed"/> equal <paramref name="straight"/>'s.</summary>
    internal static async Task AssertSameRunsAsync(DashboardServer server, RunDto straight, RunDto resumed)
    {
        var expected = await server.GetMetricsAsync(straight.Id);
        var actual = await server.GetMetricsAsync(resumed.Id);
        Assert.Equal(
            expected.Select(m => (m.Epoch, m.Step, m.Loss, m.ValLoss, m.Accuracy, m.ValAccuracy, m.Mae, m.ValMae, m.LearningRate)),
            actual.Select(m => (m.Epoch, m.Step, m.Loss, m.ValLoss, m.Accuracy, m.ValAccuracy, m.Mae, m.ValMae, m.LearningRate)));

        // Every step once, bitwise as in the run that never stopped: steps replayed after the checkpoint replaced those the
        // first process had stored past it.
        var expectedSteps = await server.GetStepsAsync(straight.Id, "?buckets=5000");
        var actualSteps = await server.GetStepsAsync(resumed.Id, "?buckets=5000");
        Assert.False(expectedSteps.Downsampled);
        Assert.Equal(expected[^1].Step, expectedSteps.Total);
        Assert.Equal(Enumerable.Range(1, (int)expectedSteps.Total).Select(s => (long)s), expectedSteps.Points.Select(p => p.Step));
        Assert.Equal(expectedSteps.Points.Select(p => (p.Step, p.Loss)), actualSteps.Points.Select(p => (p.Step, p.Loss)));

        var last = (await server.GetCheckpointsAsync(straight.Id)).Single(c => c.Kind == "last");
        var resumedLast = (await server.GetCheckpointsAsync(resumed.Id)).Single(c => c.Kind == "last");
        Assert.Equal(
            CheckpointDisk.FileHash(server.CheckpointDirectory, last, "weights.bin"),
            CheckpointDisk.FileHash(server.CheckpointDirectory, resumedLast, "weights.bin"));
    }
}
