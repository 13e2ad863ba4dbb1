using static TorchSharp.torch;

namespace Dashboard.Engine.Training;

/// <summary>
/// How many threads torch uses inside one operation (its intra-op pool, shared by every run of the process). Runs
/// training side by side each bring their own work, so by default each gets an equal share of torch's own default:
/// several runs with a full pool each oversubscribe the cores, and the pools' spinning workers then slow small models
/// tenfold instead of helping.
/// </summary>
public static class TorchThreading
{
    private static readonly Lock Gate = new();
    private static int? _configured;

    /// <summary>
    /// Sets the pool size once per process, before the first run trains (changing it while another run computes is not
    /// safe); later calls return what was set.
    /// </summary>
    /// <param name="requested">Threads wanted; 0 for torch's default divided among <paramref name="concurrentRuns"/>.</param>
    public static int EnsureConfigured(int requested, int concurrentRuns)
    {
        lock (Gate)
        {
            if (_configured is { } configured)
            {
                return configured;
            }

            var threads = Share(requested, get_num_threads(), concurrentRuns);
            if (threads != get_num_threads())
            {
                set_num_threads(threads);
            }

            _configured = threads;
            return threads;
        }
    }

    /// <summary>
    /// Gives the calling thread the configured pool size. OpenMP keeps the size per thread: a thread that has not set it
    /// uses the default (one per core) in any kernel that reads it before torch's own lazy set-up on that thread has run,
    /// so a new thread running a run (<see cref="TorchThread"/>) sets it first, and every run computes with the same size.
    /// </summary>
    public static void ApplyToCurrentThread()
    {
        lock (Gate)
        {
            if (_configured is { } threads && threads != get_num_threads())
            {
                set_num_threads(threads);
            }
        }
    }

    /// <summary>The size of torch's intra-op pool now, for the system samples; a read, safe from any thread.</summary>
    public static int Current => get_num_threads();

    /// <summary>The pool size for <paramref name="requested"/> threads (0: an equal share of <paramref name="torchDefault"/>).</summary>
    public static int Share(int requested, int torchDefault, int concurrentRuns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(requested);
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrentRuns, 1);
        return requested > 0 ? requested : Math.Max(1, torchDefault / concurrentRuns);
    }
}
