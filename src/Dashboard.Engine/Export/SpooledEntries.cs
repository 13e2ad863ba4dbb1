using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.IO.Compression;
using System.Security.Cryptography;
using Dashboard.Engine.Checkpoints;

namespace Dashboard.Engine.Export;

/// <summary>
/// A bundle's entries inflated into temporary files, each hashed (SHA-256) while it streams, so checking a bundle of
/// hundreds of megabytes costs disk rather than memory. The files use the upload spool's names, delete themselves when
/// disposed, and a crashed process's leftovers are cleared by <see cref="UploadSpool.RemoveStale"/> at the next start.
/// </summary>
internal sealed class SpooledEntries : IDisposable
{
    private readonly Dictionary<string, (FileStream File, string? Hash)> _entries = [];

    private void Add(string name, FileStream file) => _entries[name] = (file, null);

    private void SetHash(string name, string hash) => _entries[name] = (_entries[name].File, hash);

    public bool Contains(string name) => _entries.ContainsKey(name);

    public string? Hash(string name) => _entries[name].Hash;

    public bool TryGet(string name, [NotNullWhen(true)] out FileStream? file)
    {
        file = _entries.TryGetValue(name, out var entry) ? entry.File : null;
        return file is not null;
    }

    public void Dispose()
    {
        foreach (var (file, _) in _entries.Values)
        {
            file.Dispose();
        }
    }

    /// <summary>Inflates every entry of a bundle, refusing unknown names, duplicates and anything past the caps.</summary>
    public static SpooledEntries Unpack(Stream zip, long maxUncompressedBytes, string folder)
    {
        ZipArchive archive;
        try
        {
            archive = new ZipArchive(zip, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new BundleRejectedException($"The upload is not a zip file: {e.Message}");
        }

        using (archive)
        {
            if (archive.Entries.Count > BundleImporter.MaxEntries)
            {
                throw new BundleRejectedException($"The bundle has {archive.Entries.Count} entries; at most {BundleImporter.MaxEntries} are read.");
            }

            var files = new SpooledEntries();
            try
            {
                long total = 0;
                foreach (var entry in archive.Entries)
                {
                    // Exact names only: "../x", "/etc/x" or "a/b" can never match, so nothing is ever written or read by path.
                    if (!BundleImporter.KnownFiles.Contains(entry.FullName))
                    {
                        throw new BundleRejectedException($"Unexpected entry '{entry.FullName}'. A bundle holds only: {string.Join(", ", BundleImporter.KnownFiles)}.");
                    }

                    if (files.Contains(entry.FullName))
                    {
                        throw new BundleRejectedException($"The bundle holds '{entry.FullName}' twice.");
                    }

                    // The declared size is checked before inflating anything: an honest zip bomb is refused at once. Reading
                    // stops at the declared size, so one that understates it is cut short (and then fails its checks).
                    if (entry.Length > maxUncompressedBytes - total)
                    {
                        throw new BundleRejectedException($"The bundle decompresses to more than {maxUncompressedBytes:N0} bytes ('{entry.FullName}' alone declares {entry.Length:N0}).");
                    }

                    var limit = entry.FullName == BundleImporter.WeightsFile ? maxUncompressedBytes - total : Math.Min(BundleImporter.MaxSmallFileBytes, maxUncompressedBytes - total);
                    total += files.Spool(entry, folder, limit, maxUncompressedBytes);
                }
            }
            catch
            {
                files.Dispose();
                throw;
            }

            return files;
        }
    }

    /// <summary>Inflates one entry into a temporary file, hashing it on the way; returns its size.</summary>
    private long Spool(ZipArchiveEntry entry, string folder, long limit, long maxUncompressedBytes)
    {
        Directory.CreateDirectory(folder);
        var file = new FileStream(Path.Combine(folder, $"{UploadSpool.FilePrefix}{Guid.NewGuid():N}{UploadSpool.FileExtension}"), new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
            Options = FileOptions.DeleteOnClose,
        });
        Add(entry.FullName, file);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var chunk = ArrayPool<byte>.Shared.Rent(81920);
        long size = 0;
        try
        {
            using var stream = entry.Open();
            int read;
            while ((read = stream.Read(chunk, 0, 81920)) > 0)
            {
                size += read;
                if (size > limit)
                {
                    throw new BundleRejectedException(entry.FullName != BundleImporter.WeightsFile && size > BundleImporter.MaxSmallFileBytes
                        ? $"'{entry.FullName}' is larger than {BundleImporter.MaxSmallFileBytes:N0} bytes."
                        : $"The bundle decompresses to more than {maxUncompressedBytes:N0} bytes.");
                }

                hash.AppendData(chunk, 0, read);
                file.Write(chunk, 0, read);
            }

            file.Flush();
        }
        catch (InvalidDataException e)
        {
            throw new BundleRejectedException($"Entry '{entry.FullName}' is damaged or truncated: {e.Message}");
        }
        catch (IOException e) when (CheckpointStore.IsDiskFull(e))
        {
            throw new UploadStorageFullException("The disk is full: there is no room to unpack the bundle; free space and try again.", e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        file.Position = 0;
        SetHash(entry.FullName, Convert.ToHexStringLower(hash.GetHashAndReset()));
        return size;
    }

    /// <summary>A small entry whole; those were capped at <see cref="BundleImporter.MaxSmallFileBytes"/> when spooled.</summary>
    public static byte[] ReadSmall(FileStream file)
    {
        var bytes = new byte[file.Length];
        file.Position = 0;
        file.ReadExactly(bytes);
        return bytes;
    }
}
