using System.Runtime.CompilerServices;
using TorchSharp;

namespace Dashboard.UnitTests.Support;

internal static class TorchThreads
{
    /// <summary>
    /// One intra-op thread for every test, set once before any test runs: two threads on a two-core machine shared with
    /// other test processes spin against each other and slow small models tenfold, and changing the count while another
    /// test is computing is not safe.
    /// </summary>
    [ModuleInitializer]
    internal static void UseOneThread() => torch.set_num_threads(1);
}
