using Dashboard.Engine.Training;

namespace Dashboard.UnitTests.Engine;

/// <summary>
/// A run's torch work stays on one thread of its own through its awaits, so OpenMP keeps one team for it (see
/// <see cref="TorchThread"/>); work it started in the background is never lost when the run ends.
/// </summary>
public sealed class TorchThreadTests
{
    [Fact]
    public async Task RunAsync_WorkThatAwaitsLaterCompletions_StaysOnOneThreadOfItsOwn()
    {
        var caller = Environment.CurrentManagedThreadId;

        var threads = await TorchThread.RunAsync("test run", async () =>
        {
            var seen = new List<int> { Environment.CurrentManagedThreadId };
            for (var i = 0; i < 5; i++)
            {
                await Task.Delay(5); // completes on a timer thread: without the context the loop would hop there
                seen.Add(Environment.CurrentManagedThreadId);
                await Task.Yield();
                seen.Add(Environment.CurrentManagedThreadId);
            }

            return seen;
        });

        Assert.Single(threads.Distinct());
        Assert.NotEqual(caller, threads[0]);
    }

    [Fact]
    public async Task RunAsync_NewThreadEachRun_EndsWithTheRun()
    {
        Thread? first = null;
        await TorchThread.RunAsync("first", async () =>
        {
            first = Thread.CurrentThread;
            await Task.Yield();
            return 0;
        });
        var second = await TorchThread.RunAsync("second", () => Task.FromResult(Thread.CurrentThread));

        Assert.NotSame(first, second);
        Assert.True(first!.Join(TimeSpan.FromSeconds(10)), "the first run's thread did not end with it");
    }

    [Fact]
    public async Task RunAsync_WorkFailsAfterAnAwait_TheFailureReachesTheCaller()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TorchThread.RunAsync<int>("failing", async () =>
        {
            await Task.Delay(1);
            throw new InvalidOperationException("broken batch");
        }));

        Assert.Equal("broken batch", error.Message);
    }

    [Fact]
    public async Task RunAsync_WorkThrowsBeforeItsFirstAwait_TheFailureReachesTheCaller()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => TorchThread.RunAsync<int>("failing", () => throw new ArgumentException("bad request")));
    }

    [Fact]
    public async Task RunAsync_BackgroundWorkThatCapturedTheThread_StillEndsAfterTheRunEnded()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task? background = null;

        await TorchThread.RunAsync("run", () =>
        {
            // Started on the run's thread and awaiting past the run's end: its continuation finds the pump stopped.
            background = ContinueAfterAsync(release.Task);
            return Task.FromResult(0);
        });
        release.SetResult();

        var finished = await Task.WhenAny(background!, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.Same(background, finished);
    }

    [Fact]
    public async Task Run_SynchronousWork_RunsOnANewThreadAndReturnsItsResult()
    {
        var caller = Environment.CurrentManagedThreadId;

        var worker = await TorchThread.Run("copy", () => Environment.CurrentManagedThreadId);

        Assert.NotEqual(caller, worker);
        await Assert.ThrowsAsync<InvalidOperationException>(() => TorchThread.Run<int>("copy", () => throw new InvalidOperationException()));
    }

    private static async Task ContinueAfterAsync(Task gate) => await gate;
}
