using System.Security.Cryptography;
using System.Text.Json;

namespace Dashboard.Engine.Checkpoints;

/// <summary>Writing checkpoints: every byte durable before the folder takes its name, and never past the quota.</summary>
public sealed partial class CheckpointStore
{
    // "No space left": errno values (ENOSPC, EDQUOT) on Linux and macOS, and Win32 errors (ERROR_DISK_FULL,
    // ERROR_HANDLE_DISK_FULL) on Windows, as IOException.HResult carries them.
    private const int NoSpaceErrno = 28;
    private const int QuotaErrnoLinux = 122;
    private const int QuotaErrnoMac = 69;
    private const int HandleDiskFullHResult = unchecked((int)0x80070027);
    private const int DiskFullHResult = unchecked((int)0x80070070);

    private readonly Lock _quotaLock = new();
    private long _reservedBytes;

    /// <exception cref="CheckpointStorageFullException">The volume is full or the quota would be exceeded; nothing was left behind.</exception>
    public WrittenCheckpoint Write(string runFolder, string name, CheckpointSnapshot snapshot, CheckpointLineage? lineage = null)
    {
        var payload = new Dictionary<string, byte[]>
        {
            [WeightsFile] = snapshot.Weights,
            [OptimizerFile] = snapshot.OptimizerState,
            [RngFile] = snapshot.TorchRngState,
        };
        if (snapshot.BestWeights is { } best)
        {
            payload[BestWeightsFile] = best;
        }

        // The manifest is built before the files so its exact size is known up front: the placeholder hashes have the
        // length of the real ones, and only they change.
        var manifest = new CheckpointManifest
        {
            Kind = snapshot.Kind,
            Position = snapshot.Position,
            Metrics = snapshot.Metrics,
            Config = snapshot.Config,
            ModelSpec = snapshot.ModelSpec,
            Files = payload.Keys.ToDictionary(file => file, _ => new string('0', 64)),
            State = snapshot.State,
            Lineage = lineage,
            TorchSharpVersion = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString() ?? "unknown",
            RuntimeVersion = Environment.Version.ToString(),
            CreatedAtUtc = DateTime.UtcNow,
        };
        long Needed() => payload.Values.Sum(bytes => (long)bytes.Length) + JsonSerializer.SerializeToUtf8Bytes(manifest, JsonOptions).Length;
        var label = $"{SafeName(runFolder)}/{SafeName(name)}";
        using var reservation = QuotaBytes is null ? null : Reserve(Needed(), label);

        var runDirectory = Path.Combine(Root, SafeName(runFolder));
        var temporary = "";
        try
        {
            Directory.CreateDirectory(runDirectory);
            var finalName = UniqueName(runDirectory, SafeName(name));
            temporary = Path.Combine(runDirectory, $"{finalName}{TemporaryMarker}{Guid.NewGuid():N}");
            Directory.CreateDirectory(temporary);
            var hashes = new Dictionary<string, string>();
            long size = 0;
            foreach (var (file, bytes) in payload)
            {
                // On a fast disk hashing costs as much as writing and syncing; doing both at once takes the longer of the two.
                var hash = Task.Run(() => Convert.ToHexStringLower(SHA256.HashData(bytes)));
                DurableFiles.WriteDurably(Path.Combine(temporary, file), bytes);
                hashes[file] = hash.GetAwaiter().GetResult();
                size += bytes.Length;
            }

            var manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest with { Files = hashes }, JsonOptions);
            DurableFiles.WriteDurably(Path.Combine(temporary, ManifestFile), manifestBytes);
            size += manifestBytes.Length;
            DurableFiles.SyncDirectory(temporary);

            var final = Path.Combine(runDirectory, finalName);
            Directory.Move(temporary, final);
            DurableFiles.SyncDirectory(runDirectory);
            return new WrittenCheckpoint(
                Relative(final),
                size,
                Convert.ToHexStringLower(SHA256.HashData(manifestBytes)));
        }
        catch (IOException e) when (IsDiskFull(e))
        {
            TryDelete(temporary);
            throw new CheckpointStorageFullException(
                $"The disk is full: checkpoint {label} ({FormatBytes(Needed())}) could not be written ({e.Message}); free space and resume.",
                e);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>True when an I/O error means the volume (or the user's disk quota) has no space left.</summary>
    public static bool IsDiskFull(Exception exception) => exception switch
    {
        CheckpointStorageFullException => true,
        IOException io => io.HResult is NoSpaceErrno or DiskFullHResult or HandleDiskFullHResult
            || (!OperatingSystem.IsWindows() && io.HResult == (OperatingSystem.IsMacOS() ? QuotaErrnoMac : QuotaErrnoLinux)),
        _ => false,
    };

    /// <summary>
    /// Claims room for a write under the quota. Writes in flight count in full until they end, though part of their bytes
    /// may already be on disk: counting some bytes twice can only refuse early, never let the store grow past the quota.
    /// </summary>
    private Reservation Reserve(long bytes, string label)
    {
        var quota = QuotaBytes ?? long.MaxValue;
        lock (_quotaLock)
        {
            var used = UsedBytes() + _reservedBytes;
            if (used + bytes > quota)
            {
                throw new CheckpointStorageFullException(
                    $"The disk is full: checkpoint {label} needs {FormatBytes(bytes)}, but only {FormatBytes(Math.Max(0, quota - used))} "
                    + $"of the checkpoint quota of {FormatBytes(quota)} (Storage:QuotaBytes) is left; free space and resume.");
            }

            _reservedBytes += bytes;
        }

        return new Reservation(this, bytes);
    }

    /// <summary>A size as messages show it (B, KiB, MiB, GiB).</summary>
    public static string FormatBytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.#} KiB",
        < 1024L * 1024 * 1024 => $"{bytes / (1024.0 * 1024):0.#} MiB",
        _ => $"{bytes / (1024.0 * 1024 * 1024):0.##} GiB",
    };

    private static string UniqueName(string directory, string name)
    {
        var candidate = name;
        for (var i = 2; Directory.Exists(Path.Combine(directory, candidate)); i++)
        {
            candidate = $"{name}-{i}";
        }

        return candidate;
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (directory.Length > 0 && Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
            // A leftover temporary folder is never listed; start-up reconciliation removes it.
        }
    }

    private sealed class Reservation(CheckpointStore store, long bytes) : IDisposable
    {
        public void Dispose()
        {
            lock (store._quotaLock)
            {
                store._reservedBytes -= bytes;
            }
        }
    }
}
