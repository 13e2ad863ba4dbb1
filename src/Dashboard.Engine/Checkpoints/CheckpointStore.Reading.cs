using System.Security.Cryptography;
using System.Text.Json;

namespace Dashboard.Engine.Checkpoints;

/// <summary>Reading checkpoints back: each file crosses the disk once, hashed as it is read.</summary>
public sealed partial class CheckpointStore
{
    // Hashing a chunk just read, while it is still in the CPU's cache, costs far less than a second pass over the whole
    // file once it is in memory.
    private const int ReadChunkBytes = 1 << 20;

    /// <summary>Reads a checkpoint and checks every hash; throws <see cref="CheckpointCorruptException"/> on any mismatch.</summary>
    public LoadedCheckpoint Read(string relativePath, string expectedSha256)
    {
        var folder = Resolve(relativePath);
        try
        {
            var (manifestBytes, actual) = ReadHashed(Path.Combine(folder, ManifestFile));
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

                var (bytes, hash) = ReadHashed(Path.Combine(folder, file));
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

    /// <summary>A folder's manifest and its hash, or null when it cannot be read; the tensor files are not checked.</summary>
    public StoredManifest? TryReadManifest(string relativePath)
    {
        try
        {
            var (bytes, sha256) = ReadHashed(Path.Combine(Resolve(relativePath), ManifestFile));
            var manifest = JsonSerializer.Deserialize<CheckpointManifest>(bytes, JsonOptions);
            return manifest is null ? null : new StoredManifest(relativePath, manifest, sha256);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    /// <summary>A whole file and its SHA-256 (lower-case hex), in one pass over its bytes.</summary>
    /// <remarks>
    /// A file that ends early (cut short while being read) yields what was there, so its hash tells it apart; one that
    /// grew is read as far as its length said, and its hash tells that too.
    /// </remarks>
    private (byte[] Bytes, string Sha256) ReadHashed(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        var length = stream.Length;
        if (length > Array.MaxLength)
        {
            throw new IOException($"{path} has {length:N0} bytes, more than one array holds.");
        }

        var bytes = new byte[length];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var filled = 0;
        while (filled < bytes.Length)
        {
            var read = stream.Read(bytes, filled, Math.Min(ReadChunkBytes, bytes.Length - filled));
            if (read == 0)
            {
                Array.Resize(ref bytes, filled);
                break;
            }

            hash.AppendData(bytes, filled, read);
            filled += read;
        }

        _fileHashed?.Invoke(Relative(path));
        return (bytes, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }
}
