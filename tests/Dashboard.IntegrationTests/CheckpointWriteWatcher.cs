using System.Collections.Concurrent;
using System.Diagnostics;

namespace Dashboard.IntegrationTests;

/// <summary>
/// Watches a checkpoint folder from outside the dashboard: a write begins when its temporary folder appears and has
/// reached its rename when that folder takes its final name. Can SIGKILL the dashboard a chosen time after the next write
/// begins, so crash tests aim at moments inside and around a write instead of at random.
/// </summary>
internal sealed class CheckpointWriteWatcher : IDisposable
{
    private const string TemporaryMarker = ".tmp-";

    private readonly FileSystemWatcher _watcher;
    private readonly ConcurrentDictionary<string, long> _started = new();
    private readonly Lock _lock = new();
    private readonly List<TimeSpan> _writeTimes = [];
    private KillOrder? _order;

    /// <param name="root">The checkpoint folder; its run folders must exist already (new subfolders are picked up, but late).</param>
    public CheckpointWriteWatcher(string root)
    {
        _watcher = new FileSystemWatcher(root)
        {
            IncludeSubdirectories = true,
            NotifyFilter = NotifyFilters.DirectoryName,
            InternalBufferSize = 64 * 1024,
        };
        _watcher.Created += OnCreated;
        _watcher.Renamed += OnRenamed;
        _watcher.EnableRaisingEvents = true;
    }

    /// <summary>Writes seen from their start to their rename.</summary>
    public int CompletedWrites
    {
        get
        {
            lock (_lock)
            {
                return _writeTimes.Count;
            }
        }
    }

    /// <summary>The median time from a write's start to its rename, over the last 50 writes seen.</summary>
    public TimeSpan TypicalWriteTime
    {
        get
        {
            lock (_lock)
            {
                var recent = _writeTimes.TakeLast(50).Order().ToList();
                return recent.Count == 0 ? TimeSpan.Zero : recent[recent.Count / 2];
            }
        }
    }

    /// <summary>
    /// SIGKILLs <paramref name="process"/> <paramref name="delay"/> after a write begins (spinning, not sleeping, for
    /// sub-millisecond aim), letting <paramref name="skip"/> writes pass first; completes with the delay achieved.
    /// </summary>
    /// <param name="skip">
    /// Writes to let pass: the first writes of a fresh process are slower (code not yet compiled), so a delay scaled by
    /// the typical write time aims truest at a later one.
    /// </param>
    public Task<TimeSpan> KillAtWriteAsync(Process process, TimeSpan delay, int skip)
    {
        var order = new KillOrder(process, delay, skip);
        Volatile.Write(ref _order, order);
        return order.Done.Task;
    }

    public void Dispose() => _watcher.Dispose();

    private static bool IsWriteFolder(string? name) =>
        name is not null && name.Contains(TemporaryMarker, StringComparison.Ordinal) && !name.Contains("deleting", StringComparison.Ordinal);

    private void OnCreated(object sender, FileSystemEventArgs e)
    {
        var now = Stopwatch.GetTimestamp();
        if (!IsWriteFolder(e.Name))
        {
            return;
        }

        _started[e.FullPath] = now;
        if (Volatile.Read(ref _order) is { } order && order.TakeTurn())
        {
            Interlocked.Exchange(ref _order, null)?.Execute(now);
        }
    }

    private void OnRenamed(object sender, RenamedEventArgs e)
    {
        var now = Stopwatch.GetTimestamp();
        if (_started.TryRemove(e.OldFullPath, out var start) && !e.Name!.Contains(TemporaryMarker, StringComparison.Ordinal))
        {
            lock (_lock)
            {
                _writeTimes.Add(Stopwatch.GetElapsedTime(start, now));
            }
        }
    }

    private sealed class KillOrder(Process process, TimeSpan delay, int skip)
    {
        private int _toSkip = skip;

        public TaskCompletionSource<TimeSpan> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>True when this write is the one to kill at; events arrive on one thread, in order.</summary>
        public bool TakeTurn() => _toSkip-- == 0;

        public void Execute(long writeStarted)
        {
            var deadline = writeStarted + (long)(delay.TotalSeconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < deadline)
            {
                Thread.SpinWait(20);
            }

            try
            {
                process.Kill();
                Done.TrySetResult(Stopwatch.GetElapsedTime(writeStarted));
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                Done.TrySetException(e);
            }
        }
    }
}
