using System.Buffers;
using Dashboard.Engine.Checkpoints;

namespace Dashboard.Engine.Export;

/// <summary>An upload larger than allowed; reading stopped as soon as it went past the limit.</summary>
public sealed class UploadTooLargeException(long maxBytes) : Exception($"The upload is larger than {maxBytes:N0} bytes.")
{
    public long MaxBytes { get; } = maxBytes;
}

/// <summary>The volume had no room left to hold an upload; nothing of it is left behind.</summary>
public sealed class UploadStorageFullException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// Holds uploads in temporary files of one folder rather than in memory, so that a few concurrent uploads of hundreds of
/// megabytes cost disk space instead of gigabytes of RAM, while the zip reader still gets the seekable stream it needs.
/// </summary>
/// <remarks>
/// Each file deletes itself when its stream is disposed (<see cref="FileOptions.DeleteOnClose"/>). Only a process that
/// dies mid-upload leaves one behind, and <see cref="RemoveStale"/> clears those at the next start. The folder holds plain
/// files only, never folders with a manifest, so the checkpoint store can never take one for a checkpoint.
/// </remarks>
public sealed class UploadSpool(string folder)
{
    public const string FilePrefix = "upload-";
    public const string FileExtension = ".part";

    // Below the large-object-heap threshold, so every copy buffer comes from and returns to the shared pool cheaply.
    private const int BufferBytes = 80 * 1024;

    public string Folder { get; } = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));

    /// <summary>
    /// Copies <paramref name="source"/> to a new temporary file and returns it positioned at its start; disposing the stream
    /// deletes the file. Reading stops as soon as more than <paramref name="maxBytes"/> have arrived, whatever the sender
    /// declared, and every failure deletes the file before the exception leaves.
    /// </summary>
    /// <exception cref="UploadTooLargeException">The source holds more than <paramref name="maxBytes"/>.</exception>
    /// <exception cref="UploadStorageFullException">The volume (or the user's disk quota) ran out of space.</exception>
    public async Task<FileStream> WriteAsync(Stream source, long maxBytes, CancellationToken cancellationToken = default)
    {
        FileStream file;
        try
        {
            Directory.CreateDirectory(Folder);
            file = new FileStream(Path.Combine(Folder, $"{FilePrefix}{Guid.NewGuid():N}{FileExtension}"), new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.ReadWrite,
                Share = FileShare.None,
                Options = FileOptions.DeleteOnClose | FileOptions.Asynchronous,

                // The copy already writes in large blocks; a buffer of the stream's own would only copy them once more.
                BufferSize = 0,
            });
        }
        catch (IOException e) when (CheckpointStore.IsDiskFull(e))
        {
            throw Full(e);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
        try
        {
            long total = 0;
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, BufferBytes), cancellationToken)) > 0)
            {
                total += read;
                if (total > maxBytes)
                {
                    throw new UploadTooLargeException(maxBytes);
                }

                // Only errors of the file are a full disk; an IOException of the source is the sender's (a broken upload).
                try
                {
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
                catch (IOException e) when (CheckpointStore.IsDiskFull(e))
                {
                    throw Full(e);
                }
            }

            try
            {
                await file.FlushAsync(cancellationToken);
            }
            catch (IOException e) when (CheckpointStore.IsDiskFull(e))
            {
                throw Full(e);
            }

            file.Position = 0;
            return file;
        }
        catch
        {
            await file.DisposeAsync();
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Deletes the files a crashed process left in the folder. Touches nothing but this spool's own file names at the
    /// folder's top level, so even a folder shared by mistake loses nothing else. Without <paramref name="unwrittenFor"/>,
    /// every such file: only before this process takes uploads, with no other process on the folder. With it, only files
    /// not written for that long, for a folder other processes share: an upload still arriving is written to all the
    /// time, and one being read after it arrived keeps reading, since removing a name leaves an open file to its reader.
    /// </summary>
    /// <returns>The files removed.</returns>
    public IReadOnlyList<string> RemoveStale(TimeSpan? unwrittenFor = null)
    {
        if (!Directory.Exists(Folder))
        {
            return [];
        }

        var before = DateTime.UtcNow - unwrittenFor;
        var removed = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Folder, $"{FilePrefix}*{FileExtension}", SearchOption.TopDirectoryOnly))
        {
            try
            {
                if (before is { } limit && File.GetLastWriteTimeUtc(file) > limit)
                {
                    continue;
                }

                File.Delete(file);
                removed.Add(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Left for the next start; a stale upload is never read again, it only takes room.
            }
        }

        return removed;
    }

    private static UploadStorageFullException Full(IOException e) =>
        new("The disk is full: there is no room to hold the upload; free space and try again.", e);
}
