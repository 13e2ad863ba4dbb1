using System.Diagnostics.Tracing;
using TorchSharp;

namespace Dashboard.UnitTests.Support;

/// <summary>
/// Counts <see cref="Scalar"/>s that reach the finalizer instead of being disposed, from the runtime's own FinalizeObject
/// events. A Scalar left to the finalizer is one nobody keeps alive: a collection started by any thread can free it
/// while libtorch still reads it. Counting them tells deterministically whether code can hit that race, where waiting
/// for the race itself only tells whether it happened this time. Counts every thread's Scalars, so it is used only in
/// <see cref="FinalizerCountCollection"/>, which runs alone.
/// </summary>
public sealed class ScalarFinalizations : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private static readonly ulong ScalarType = (ulong)typeof(Scalar).TypeHandle.Value;
    private static readonly ulong SentinelType = (ulong)typeof(Sentinel).TypeHandle.Value;

    private readonly ManualResetEventSlim _sentinelSeen = new();
    private int _scalars;

    /// <summary>Scalars finalized since <see cref="Start"/>, up to the last <see cref="Settle"/>.</summary>
    public int Count => Volatile.Read(ref _scalars);

    /// <summary>Finalizes what is already waiting, then counts from here on.</summary>
    public void Start()
    {
        Settle();
        Interlocked.Exchange(ref _scalars, 0);
    }

    /// <summary>
    /// Collects, runs every pending finalizer and waits until the runtime's events about them have arrived: a sentinel
    /// finalized after them is reported after them.
    /// </summary>
    public void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        _sentinelSeen.Reset();
        LeaveSentinel();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        if (!_sentinelSeen.Wait(TimeSpan.FromSeconds(30)))
        {
            throw new InvalidOperationException("The runtime reported no FinalizeObject event for the sentinel; a count would mean nothing.");
        }
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName != "FinalizeObject" || eventData.Payload is not { Count: > 0 } payload)
        {
            return;
        }

        // FinalizeObject's first field is the object's MethodTable, which is also what a type's RuntimeTypeHandle holds.
        var type = payload[0] is IntPtr id ? (ulong)id : ulong.MaxValue;
        if (type == ScalarType)
        {
            Interlocked.Increment(ref _scalars);
        }
        else if (type == SentinelType)
        {
            _sentinelSeen.Set();
        }
    }

    public override void Dispose()
    {
        base.Dispose();
        _sentinelSeen.Dispose();
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void LeaveSentinel() => _ = new Sentinel();

    /// <summary>An object left to the finalizer on purpose, to mark where the events have got to.</summary>
    private sealed class Sentinel
    {
        ~Sentinel()
        {
        }
    }
}

/// <summary>Tests that count finalized Scalars: they run after, never beside, the tests that use TorchSharp's optimizers.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FinalizerCountCollection
{
    public const string Name = "Scalar finalizer counts";
}
