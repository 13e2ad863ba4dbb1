using Microsoft.Win32.SafeHandles;

namespace Dashboard.IntegrationTests;

/// <summary>
/// Keeps a small volume full: writes zeros into one file until the kernel answers ENOSPC, then goes on taking every byte
/// that frees up (a checkpoint removed by retention) until disposed, so that a writer racing it never finds the room a
/// deletion left. Writes go at explicit offsets, so a refused write is simply tried again at the same place.
/// </summary>
public sealed class VolumeFiller : IAsyncDisposable
{
    private const int NoSpaceErrno = 28;
    private const int ChunkBytes = 4096;

    private readonly SafeFileHandle _file;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<long> _firstFull = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _filling;
    private long _written;
    private bool _disposed;

    private VolumeFiller(string path, long limit)
    {
        _file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write);
        _filling = Task.Run(() => FillAsync(limit));
    }

    /// <summary>How many bytes fitted when the volume first refused.</summary>
    public Task<long> FirstFull => _firstFull.Task;

    /// <summary>How many bytes the file holds now.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Starts filling <paramref name="path"/>; more than <paramref name="limit"/> bytes means no small volume is there.</summary>
    public static VolumeFiller Start(string path, long limit) => new(path, limit);

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _stop.CancelAsync();
        try
        {
            await _filling;
        }
        finally
        {
            _file.Dispose();
            _stop.Dispose();
        }
    }

    private async Task FillAsync(long limit)
    {
        var chunk = new byte[ChunkBytes];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    RandomAccess.Write(_file, chunk, Written);
                    Interlocked.Add(ref _written, ChunkBytes);
                    if (Written > limit)
                    {
                        throw new InvalidOperationException($"Wrote {Written:N0} bytes without running out of space: the small volume is not mounted there.");
                    }
                }
                catch (IOException e) when (e.HResult == NoSpaceErrno)
                {
                    _firstFull.TrySetResult(Written);

                    // Full for now: look again shortly, well within the time a run takes to reach its next checkpoint.
                    await Task.Delay(TimeSpan.FromMilliseconds(1), CancellationToken.None);
                }
            }
        }
        catch (Exception e)
        {
            _firstFull.TrySetException(e);
            throw;
        }
    }
}
