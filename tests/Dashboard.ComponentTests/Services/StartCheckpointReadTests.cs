using System.Collections.Concurrent;
using Dashboard.ComponentTests.Support;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Execution;
using Dashboard.Runs.Launching;
using Dashboard.Runs.Management;
using Dashboard.Runs.Options;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Dashboard.ComponentTests.Services;

/// <summary>
/// How often a resume reads the checkpoint it starts from, counted at the store: a real tiny spirals run trains to a
/// checkpoint, is resumed through the launcher, and the executor trains it on from there.
/// </summary>
public sealed class StartCheckpointReadTests : DashboardTestContext
{
    private readonly ConcurrentQueue<string> _hashed = new();

    [Fact]
    public async Task ResumeAsync_FreeSlot_EachStartFileIsReadAndHashedOnceUpToTheTrainedRun()
    {
        var (runId, start) = await TrainOneEpochAsync();

        var resumed = await Services.GetRequiredService<RunLauncher>().ResumeAsync(start.Id, new ResumeRequest(2));
        Assert.Equal(202, resumed.Status);
        Assert.Equal(1, Queue.HeldStarts);
        await ExecuteQueuedAsync();
        Assert.Equal(0, Queue.HeldStarts);

        await AssertResumedAsync(runId, start.Id);
        Assert.Equal(await FilesOfAsync(start.Id), ReadsOf(start.Path));
    }

    [Fact]
    public async Task ResumeAsync_NoFreeSlot_DropsWhatItReadAndTheExecutorVerifiesTheFilesOnceItself()
    {
        var (runId, start) = await TrainOneEpochAsync();
        var files = await FilesOfAsync(start.Id);

        // The only slot is taken, so the resumed run waits in the queue; what the launcher read must not wait with it.
        using (var busy = Queue.TryActivate(int.MaxValue))
        {
            var resumed = await Services.GetRequiredService<RunLauncher>().ResumeAsync(start.Id, new ResumeRequest(2));
            Assert.Equal(202, resumed.Status);
            Assert.Equal(files, ReadsOf(start.Path));
            Assert.Equal(0, Queue.HeldStarts);
            Queue.Deactivate(int.MaxValue, busy!);
        }

        _hashed.Clear();
        await ExecuteQueuedAsync();

        await AssertResumedAsync(runId, start.Id);
        Assert.Equal(files, ReadsOf(start.Path));
    }

    [Fact]
    public async Task Enqueue_MoreRunsWithStartsThanSlots_HoldsOnlyThoseThatCanStartAtOnce()
    {
        var queue = new RunQueue(Options.Create(new TrainingOptions { MaxConcurrentRuns = 2 }));
        var (_, checkpoint) = await TrainOneEpochAsync();
        var store = Services.GetRequiredService<CheckpointStore>();
        var start = new VerifiedCheckpoint(checkpoint.Id, store.Read(checkpoint.Path, checkpoint.Sha256));

        queue.Enqueue(1, start);
        queue.Enqueue(2, start);
        queue.Enqueue(3, start);

        // Two slots: the first two can start at once, the third waits and must not hold its checkpoint meanwhile.
        Assert.Equal(2, queue.HeldStarts);
        Assert.Same(start, queue.TakeStart(1));
        Assert.Same(start, queue.TakeStart(2));
        Assert.Null(queue.TakeStart(3));
        Assert.Equal(0, queue.HeldStarts);

        // A run holding a slot counts as much as one waiting for it.
        using var busy = queue.TryActivate(1);
        queue.Enqueue(4, start);
        queue.Enqueue(5, start);
        Assert.Equal(1, queue.HeldStarts);
        Assert.Same(start, queue.TakeStart(4));
        Assert.Null(queue.TakeStart(5));
    }

    /// <summary>Counts every file the store reads from here on; the services cannot be touched before this.</summary>
    private async Task<(int RunId, Checkpoint Start)> TrainOneEpochAsync()
    {
        Services.Configure<TrainingOptions>(o => o.MaxConcurrentRuns = 1);
        Services.AddSingleton(provider =>
        {
            var storage = provider.GetRequiredService<IOptions<StorageOptions>>().Value;
            return new CheckpointStore(storage.CheckpointPath, storage.QuotaBytes, _hashed.Enqueue);
        });
        var run = await Database.AddRunAsync("counted", status: RunStatus.Queued, epochs: 1);
        await Services.GetRequiredService<RunExecutor>().ExecuteAsync(run.Id, CancellationToken.None);
        var newest = (await Services.GetRequiredService<RunService>().CheckpointsAsync(run.Id))![^1];
        await using var db = Database.CreateContext();
        var start = await db.Checkpoints.AsNoTracking().SingleAsync(c => c.Id == newest.Id);
        _hashed.Clear();
        return (run.Id, start);
    }

    private async Task ExecuteQueuedAsync()
    {
        Assert.True(Queue.Reader.TryRead(out var queued));
        await Services.GetRequiredService<RunExecutor>().ExecuteAsync(queued, CancellationToken.None);
        Assert.False(Queue.Reader.TryRead(out _));
    }

    private async Task AssertResumedAsync(int runId, int startId)
    {
        await using var db = Database.CreateContext();
        var run = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == runId);
        Assert.Equal(RunStatus.Completed, run.Status);
        Assert.Equal(2, run.CurrentEpoch);
        Assert.Equal(startId, run.ResumedFromCheckpointId);
    }

    /// <summary>Every file of a checkpoint's folder, each read once: the manifest and every tensor file it lists.</summary>
    private async Task<Dictionary<string, int>> FilesOfAsync(int checkpointId)
    {
        await using var db = Database.CreateContext();
        var path = await db.Checkpoints.Where(c => c.Id == checkpointId).Select(c => c.Path).SingleAsync();
        var folder = Path.Combine(Services.GetRequiredService<CheckpointStore>().Root, path);
        var files = Directory.GetFiles(folder).Select(f => Path.GetFileName(f)).ToList();
        Assert.Contains(CheckpointStore.ManifestFile, files);
        Assert.Contains(CheckpointStore.WeightsFile, files);
        return files.ToDictionary(file => $"{path}/{file}", _ => 1);
    }

    private Dictionary<string, int> ReadsOf(string checkpointPath) =>
        _hashed.Where(p => p.StartsWith(checkpointPath + "/", StringComparison.Ordinal))
            .GroupBy(p => p)
            .ToDictionary(g => g.Key, g => g.Count());
}
