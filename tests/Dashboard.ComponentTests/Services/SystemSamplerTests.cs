using Dashboard.ComponentTests.Support;
using Dashboard.Data.Entities;
using Dashboard.Runs.Events;
using Dashboard.Runs.Monitoring;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Services;

/// <summary>
/// Which runs a process samples, and when a sample may be sent: one tick of the real sampler on the test's SQLite file,
/// with runs marked as training in this process's queue the way the executor marks them.
/// </summary>
public sealed class SystemSamplerTests : DashboardTestContext
{
    [Fact]
    public async Task SampleAsync_RunsRunningHereAndElsewhere_StoresAndSendsOnlyThoseTrainingHere()
    {
        // All three are running in the database; only the first trains in this process. The second is another worker's
        // (its readings are that worker's to take), the third was claimed here but not yet announced as running.
        var here = await Database.AddRunAsync("here", status: RunStatus.Running);
        var elsewhere = await Database.AddRunAsync("elsewhere", status: RunStatus.Running);
        var claiming = await Database.AddRunAsync("claiming", status: RunStatus.Running);
        using var training = Queue.TryActivate(here.Id)!;
        training.Started();
        using var claimed = Queue.TryActivate(claiming.Id)!;
        using var heard = new HeardEvents(Broadcaster);

        await NewSampler().SampleAsync(new ProcessUsage(), CancellationToken.None);

        Assert.Equal([here.Id], (await heard.UpToNowAsync()).OfType<SystemSampleEvent>().Select(e => e.RunId));
        await using var db = Database.CreateContext();
        Assert.Equal([here.Id], await db.RunSystemSamples.Select(s => s.RunId).ToListAsync());
        Assert.Equal([here.Id], Queue.TrainingRunIds);
    }

    [Fact]
    public async Task SampleAsync_RunEnding_NeitherStoresNorSendsASample()
    {
        var run = await Database.AddRunAsync("ended", status: RunStatus.Running);
        using var active = Queue.TryActivate(run.Id)!;
        active.Started();
        active.Ending();

        await NewSampler().SampleAsync(new ProcessUsage(), CancellationToken.None);

        await using var db = Database.CreateContext();
        Assert.Equal(0, await db.RunSystemSamples.CountAsync());
        Assert.Empty(Queue.TrainingRunIds);
        Assert.False(Queue.WhileTraining(run.Id, () => Assert.Fail("A run that is ending was sent a sample.")));
    }

    [Fact]
    public async Task Ending_WhileASampleIsBeingPublished_WaitsUntilItIsOut()
    {
        // The executor calls Ending before it announces the final status; were it not to wait, a sample the sampler
        // had begun to publish could reach clients after that status (seen once in the load test).
        using var active = Queue.TryActivate(5)!;
        active.Started();
        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var publishing = Task.Run(() => Queue.WhileTraining(5, () =>
        {
            inside.Set();
            release.Wait();
        }));
        Assert.True(inside.Wait(TimeSpan.FromSeconds(10)));

        var ending = Task.Run(active.Ending);
        var first = await Task.WhenAny(ending, Task.Delay(300));
        Assert.False(first == ending, "Ending returned while a sample was still being published.");
        release.Set();

        await ending.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(await publishing);
        Assert.False(active.IsTraining);
    }

    private SystemSampler NewSampler() => ActivatorUtilities.CreateInstance<SystemSampler>(Services);
}
