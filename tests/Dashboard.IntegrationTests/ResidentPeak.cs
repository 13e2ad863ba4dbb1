namespace Dashboard.IntegrationTests;

/// <summary>
/// Samples a process's resident size (VmRSS) until disposed and keeps the highest: the peak of an upload or import is
/// what a memory promise is about, and it has fallen again by the time the answer arrives.
/// </summary>
public sealed class ResidentPeak : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;
    private long _peak;

    private ResidentPeak(int pid, TimeSpan interval)
    {
        Before = MemoryTests.ResidentBytes(pid);
        _peak = Before;
        _sampling = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Interlocked.Exchange(ref _peak, Math.Max(Interlocked.Read(ref _peak), MemoryTests.ResidentBytes(pid)));
                await Task.Delay(interval, CancellationToken.None);
            }
        });
    }

    /// <summary>The resident size when sampling began.</summary>
    public long Before { get; }

    /// <summary>The highest resident size seen so far.</summary>
    public long Peak => Interlocked.Read(ref _peak);

    public static ResidentPeak Start(int pid, TimeSpan interval) => new(pid, interval);

    /// <summary>Stops sampling; <see cref="Peak"/> stays readable.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sampling;
        _stop.Dispose();
    }
}
