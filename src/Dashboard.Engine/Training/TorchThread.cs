using System.Collections.Concurrent;

namespace Dashboard.Engine.Training;

/// <summary>
/// Runs torch work on a thread of its own that ends with the work. Torch's CPU kernels parallelise with OpenMP
/// (libgomp), which keeps a team of worker threads for every thread that ever entered a parallel region, for as long as
/// that thread lives; once the process holds more such threads than cores, libgomp stops spinning between parallel
/// regions and every region pays a futex wake-up of its workers. A training loop run on the thread pool lands on
/// another pool thread for each run (and after each await that completes later), and each of those long-lived threads
/// keeps its team docked: from the second run on, every run of the process trained in that slow mode (bench figure 1,
/// the server's CPU profile in bench/README.md). A thread per run, kept through its awaits and ended with the run, holds
/// one team, released when it ends.
/// </summary>
public static class TorchThread
{
    /// <summary>
    /// Runs <paramref name="work"/> on a new thread and keeps its continuations there (a single-thread synchronisation
    /// context pumped until the work ends). Work it starts in the background must not capture this context: start it
    /// with <see cref="Task.Run(Func{Task})"/>, or it runs on the thread pool once the work has ended.
    /// </summary>
    public static Task<T> RunAsync<T>(string name, Func<Task<T>> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            var context = new PumpContext();
            SynchronizationContext.SetSynchronizationContext(context);
            try
            {
                TorchThreading.ApplyToCurrentThread();
                var task = work();
                task.ContinueWith(_ => context.Complete(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                context.Pump();
                done.SetFromTask(task);
            }
            catch (Exception e)
            {
                // Thrown before the work's first await: nothing was posted, so nothing is left to pump.
                context.Complete();
                done.SetException(e);
            }
            finally
            {
                SynchronizationContext.SetSynchronizationContext(null);
            }
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return done.Task;
    }

    /// <summary>Runs synchronous torch work (a checkpoint's copy) on a new thread, for the same reason.</summary>
    public static Task<T> Run<T>(string name, Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                TorchThreading.ApplyToCurrentThread();
                done.SetResult(work());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return done.Task;
    }

    /// <summary>Queues continuations for the thread that pumps it; after the work ended, to the thread pool instead.</summary>
    private sealed class PumpContext : SynchronizationContext
    {
        private readonly BlockingCollection<(SendOrPostCallback Callback, object? State)> _queue = [];
        private readonly Lock _gate = new();

        public override void Post(SendOrPostCallback d, object? state)
        {
            lock (_gate)
            {
                if (!_queue.IsAddingCompleted)
                {
                    _queue.Add((d, state));
                    return;
                }
            }

            // A continuation that still finds this context after the pump stopped (one that captured it in background
            // work) must run somewhere rather than be lost.
            ThreadPool.QueueUserWorkItem(s => d(s), state, preferLocal: false);
        }

        public override SynchronizationContext CreateCopy() => this;

        public void Complete()
        {
            lock (_gate)
            {
                _queue.CompleteAdding();
            }
        }

        public void Pump()
        {
            foreach (var (callback, state) in _queue.GetConsumingEnumerable())
            {
                callback(state);
            }
        }
    }
}
