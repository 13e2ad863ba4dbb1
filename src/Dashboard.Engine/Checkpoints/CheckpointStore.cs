using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dashboard.Engine.Checkpoints;

/// <summary>Where a checkpoint landed: its folder relative to the store's root, total size, and the manifest's SHA-256.</summary>
/// <remarks>The manifest lists the hashes of the tensor files, so its own hash vouches for the whole folder.</remarks>
public sealed record WrittenCheckpoint(string RelativePath, long SizeBytes, string Sha256);

/// <summary>A checkpoint read back and verified.</summary>
public sealed record LoadedCheckpoint(CheckpointManifest Manifest, byte[] Weights, byte[] OptimizerState, byte[] TorchRngState, byte[]? BestWeights);

/// <summary>A checkpoint folder's manifest as found on disk, with the manifest's own hash.</summary>
public sealed record StoredManifest(string RelativePath, CheckpointManifest Manifest, string Sha256);

/// <summary>A checkpoint whose files are missing, torn or altered.</summary>
public class CheckpointCorruptException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A checkpoint whose files are there but could not be read (an I/O error, no permission, a volume going away): nothing
/// says they are damaged, so its row keeps its status. A kind of <see cref="CheckpointCorruptException"/> so every caller
/// that cannot use a checkpoint refuses this one too.
/// </summary>
public sealed class CheckpointUnreadableException(string message, Exception? inner = null) : CheckpointCorruptException(message, inner);

/// <summary>
/// A checkpoint could not be written because its volume is full, or because it would not fit in the store's quota. Nothing
/// of it is left on disk. Training cannot usefully go on until space is freed, unlike after other write errors.
/// </summary>
public sealed class CheckpointStorageFullException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>
/// Checkpoint folders under one root: <c>{root}/{run}/{name}/manifest.json</c> beside <c>weights.bin</c> (TorchSharp's
/// module format), <c>optimizer.bin</c> and <c>rng.bin</c>. A folder appears under its final name only once every byte is
/// on disk: files are written into a temporary sibling, flushed and fsynced, then the folder is renamed and its parent fsynced.
/// </summary>
public sealed partial class CheckpointStore
{
    /// <summary>The folder, relative to the root, that holds every checkpoint of a run: one naming rule for all writers.</summary>
    public static string RunFolder(int runId) => $"run-{runId:D6}";

    public const string ManifestFile = "manifest.json";
    public const string WeightsFile = "weights.bin";
    public const string OptimizerFile = "optimizer.bin";
    public const string RngFile = "rng.bin";
    public const string BestWeightsFile = "best-weights.bin";
    public const string TemporaryMarker = ".tmp-";

    // A diverged run logs NaN or infinite losses; its checkpoints must still be written, so such numbers are allowed.
    internal static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    // "No space left": errno values (ENOSPC, EDQUOT) on Linux and macOS, and Win32 errors (ERROR_DISK_FULL,
    // ERROR_HANDLE_DISK_FULL) on Windows, as IOException.HResult carries them.
    private const int NoSpaceErrno = 28;
    private const int QuotaErrnoLinux = 122;
    private const int QuotaErrnoMac = 69;
    private const int HandleDiskFullHResult = unchecked((int)0x80070027);
    private const int DiskFullHResult = unchecked((int)0x80070070);

    private readonly Lock _quotaLock = new();
    private long _reservedBytes;

    /// <param name="quotaBytes">
    /// At most this many bytes under <paramref name="root"/>; a write that would go beyond it fails as if the disk were
    /// full. Null for no limit but the volume's own.
    /// </param>
    public CheckpointStore(string root, long? quotaBytes = null)
    {
        if (quotaBytes is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(quotaBytes), quotaBytes, "The quota must be positive, or null for none.");
        }

        Root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        QuotaBytes = quotaBytes;
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public long? QuotaBytes { get; }

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
                WriteDurably(Path.Combine(temporary, file), bytes);
                hashes[file] = hash.GetAwaiter().GetResult();
                size += bytes.Length;
            }

            var manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest with { Files = hashes }, JsonOptions);
            WriteDurably(Path.Combine(temporary, ManifestFile), manifestBytes);
            size += manifestBytes.Length;
            SyncDirectory(temporary);

            var final = Path.Combine(runDirectory, finalName);
            Directory.Move(temporary, final);
            SyncDirectory(runDirectory);
            return new WrittenCheckpoint(
                Path.GetRelativePath(Root, final).Replace('\\', '/'),
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

    /// <summary>Bytes of every file under the root: finished checkpoints, writes in progress and anything else put there.</summary>
    public long UsedBytes() => SizeOfTree(new DirectoryInfo(Root));

    /// <summary>Reads a checkpoint and checks every hash; throws <see cref="CheckpointCorruptException"/> on any mismatch.</summary>
    public LoadedCheckpoint Read(string relativePath, string expectedSha256)
    {
        var folder = Resolve(relativePath);
        try
        {
            var manifestBytes = File.ReadAllBytes(Path.Combine(folder, ManifestFile));
            var actual = Convert.ToHexStringLower(SHA256.HashData(manifestBytes));
            if (!string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new CheckpointCorruptException($"Checkpoint {relativePath}: the manifest's SHA-256 is {actual}, expected {expectedSha256}.");
            }

            var manifest = JsonSerializer.Deserialize<CheckpointManifest>(manifestBytes, JsonOptions)
                ?? throw new CheckpointCorruptException($"Checkpoint {relativePath}: the manifest is empty.");
            byte[] ReadVerified(string file)
            {
                if (!manifest.Files.TryGetValue(file, out var expected))
                {
                    throw new CheckpointCorruptException($"Checkpoint {relativePath}: the manifest does not list {file}.");
                }

                var bytes = File.ReadAllBytes(Path.Combine(folder, file));
                var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
                return hash == expected
                    ? bytes
                    : throw new CheckpointCorruptException($"Checkpoint {relativePath}: {file} has SHA-256 {hash}, the manifest says {expected}.");
            }

            return new LoadedCheckpoint(
                manifest,
                ReadVerified(WeightsFile),
                ReadVerified(OptimizerFile),
                ReadVerified(RngFile),
                manifest.Files.ContainsKey(BestWeightsFile) ? ReadVerified(BestWeightsFile) : null);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or JsonException)
        {
            throw new CheckpointCorruptException($"Checkpoint {relativePath} cannot be read: {e.Message}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointUnreadableException($"Checkpoint {relativePath} could not be read just now (its files were not checked): {e.Message}", e);
        }
    }

    /// <summary>Removes a checkpoint folder; returns false when it was already gone.</summary>
    /// <remarks>
    /// The folder is first renamed to a temporary name, so it disappears from its final name in one step: a crash halfway
    /// through deleting leaves a temporary folder that start-up removes, never a half-empty checkpoint.
    /// </remarks>
    public bool Delete(string relativePath)
    {
        if (MoveAway(relativePath) is not { } doomed)
        {
            return false;
        }

        Directory.Delete(doomed, recursive: true);
        return true;
    }

    /// <summary>
    /// The first half of <see cref="Delete"/>: renames a folder (a checkpoint's, or a whole run's) to a temporary name that
    /// start-up removes, durably, and returns that name; null when the folder was not there. Callers that must also drop
    /// database rows rename first, drop the rows, then remove the folder, or <see cref="MoveBack"/> when the rows stay.
    /// </summary>
    public string? MoveAway(string relativePath)
    {
        var folder = Resolve(relativePath);
        if (!Directory.Exists(folder))
        {
            return null;
        }

        var doomed = $"{folder}{TemporaryMarker}deleting-{Guid.NewGuid():N}";
        Directory.Move(folder, doomed);
        SyncDirectory(Path.GetDirectoryName(folder)!);
        return doomed;
    }

    /// <summary>Undoes <see cref="MoveAway"/>: the rows that name the folder were kept after all.</summary>
    public void MoveBack(string movedAway, string relativePath)
    {
        var folder = Resolve(relativePath);
        Directory.Move(movedAway, folder);
        SyncDirectory(Path.GetDirectoryName(folder)!);
    }

    /// <summary>Every finished checkpoint folder under the root, as run/name relative paths.</summary>
    public IEnumerable<string> ListFolders() =>
        Directory.EnumerateDirectories(Root)
            .SelectMany(Directory.EnumerateDirectories)
            .Where(d => !Path.GetFileName(d).Contains(TemporaryMarker, StringComparison.Ordinal) && File.Exists(Path.Combine(d, ManifestFile)))
            .Select(d => Path.GetRelativePath(Root, d).Replace('\\', '/'));

    /// <summary>A folder's manifest and its hash, or null when it cannot be read; the tensor files are not checked.</summary>
    public StoredManifest? TryReadManifest(string relativePath)
    {
        try
        {
            var bytes = File.ReadAllBytes(Path.Combine(Resolve(relativePath), ManifestFile));
            var manifest = JsonSerializer.Deserialize<CheckpointManifest>(bytes, JsonOptions);
            return manifest is null ? null : new StoredManifest(relativePath, manifest, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Bytes of all files in a checkpoint folder.</summary>
    public long SizeOf(string relativePath) => new DirectoryInfo(Resolve(relativePath)).EnumerateFiles().Sum(f => f.Length);

    public bool Exists(string relativePath) => File.Exists(Path.Combine(Resolve(relativePath), ManifestFile));

    /// <summary>
    /// Whether a checkpoint's manifest is there, told apart from "it could not be looked at": unlike
    /// <see cref="Exists"/>, an I/O or permission error is thrown, not answered with false.
    /// </summary>
    /// <exception cref="IOException">The folder could not be looked at.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder could not be looked at.</exception>
    public bool Probe(string relativePath)
    {
        try
        {
            using var manifest = new FileStream(Path.Combine(Resolve(relativePath), ManifestFile), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
            return true;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// The file that says "this is the dashboard's checkpoint folder". An empty folder without it, while the database lists
    /// checkpoints, is an unmounted volume or a moved folder, not checkpoints that all vanished.
    /// </summary>
    public const string VolumeMarkerFile = ".dashboard-checkpoints";

    public bool HasVolumeMarker() => File.Exists(Path.Combine(Root, VolumeMarkerFile));

    public void WriteVolumeMarker()
    {
        var path = Path.Combine(Root, VolumeMarkerFile);
        if (!File.Exists(path))
        {
            WriteDurably(path, "This folder holds the training dashboard's checkpoints.\n"u8.ToArray());
            SyncDirectory(Root);
        }
    }

    /// <summary>Null when the root can be listed; otherwise why not (missing, unreadable, not a folder).</summary>
    public string? RootProblem()
    {
        try
        {
            _ = Directory.EnumerateFileSystemEntries(Root).Any();
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"{Root} cannot be listed: {e.Message}";
        }
    }

    /// <summary>The absolute path of a stored file, for serving downloads; never outside the root.</summary>
    public string PathOf(string relativePath, string file) => Path.Combine(Resolve(relativePath), SafeName(file));

    /// <summary>Turns a template result into one path segment that every file system accepts.</summary>
    public static string SafeName(string name)
    {
        var invalid = Path.GetInvalidFileNameChars().Concat(['/', '\\', ':', '*', '?', '"', '<', '>', '|']).ToHashSet();
        var chars = name.Select(c => invalid.Contains(c) || char.IsControl(c) ? '_' : c).ToArray();
        // ".tmp-" marks unfinished writes, which start-up removes; a finished checkpoint must never look like one.
        var safe = new string(chars).Replace(TemporaryMarker, "_tmp-", StringComparison.Ordinal).Trim().Trim('.');
        if (safe.Length == 0)
        {
            safe = "checkpoint";
        }

        return safe.Length > 120 ? safe[..120] : safe;
    }

    private string Resolve(string relativePath)
    {
        var full = Path.GetFullPath(Path.Combine(Root, relativePath));
        return full.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? full
            : throw new ArgumentException($"'{relativePath}' is outside the checkpoint store.", nameof(relativePath));
    }

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

    private static long SizeOfTree(DirectoryInfo directory)
    {
        long total = 0;
        try
        {
            foreach (var entry in directory.EnumerateFileSystemInfos())
            {
                total += entry switch
                {
                    FileInfo file => file.Length,
                    DirectoryInfo child when !child.Attributes.HasFlag(FileAttributes.ReparsePoint) => SizeOfTree(child),
                    _ => 0,
                };
            }
        }
        catch (Exception e) when (e is DirectoryNotFoundException or FileNotFoundException)
        {
            // Removed while being counted (retention, a delete): it takes no room any more.
        }

        return total;
    }

    private static string FormatBytes(long bytes) => bytes switch
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

    private static void WriteDurably(string path, byte[] bytes)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
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

    /// <summary>fsync on a directory makes a rename inside it durable; .NET has no API for it.</summary>
    internal static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }

        var fd = NativeMethods.Open(directory, NativeMethods.ORdOnly);
        if (fd < 0)
        {
            throw new IOException($"Cannot open {directory} to sync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (NativeMethods.Fsync(fd) != 0)
            {
                throw new IOException($"fsync of {directory} failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = NativeMethods.Close(fd);
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

    private static partial class NativeMethods
    {
        // Read-only is all fsync needs, and it opens a directory on both Linux and macOS.
        public const int ORdOnly = 0;

        [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static partial int Fsync(int fd);

        [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
        public static partial int Close(int fd);
    }
}
