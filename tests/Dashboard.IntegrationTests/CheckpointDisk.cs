using System.Security.Cryptography;
using System.Text.Json;
using Dashboard.Runs.Contracts;

namespace Dashboard.IntegrationTests;

/// <summary>
/// Finds a checkpoint's folder on disk through the contract alone: <c>sha256</c> is the hash of the folder's
/// <c>manifest.json</c>, which in turn lists the hash of every other file in it.
/// </summary>
internal static class CheckpointDisk
{
    private const string TemporaryMarker = ".tmp-";

    /// <summary>
    /// Null when the checkpoint is completely on disk under its final name; otherwise what is wrong. A folder removed
    /// while it is read (a running dashboard's retention deleting an old checkpoint) is a problem reported as such, not
    /// an exception: the caller decides whether the checkpoint's row explains it.
    /// </summary>
    public static string? Problem(string checkpointRoot, CheckpointDto checkpoint)
    {
        try
        {
            return ProblemOnDisk(checkpointRoot, checkpoint);
        }
        catch (IOException e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return $"its files went away while they were read ({e.Message})";
        }
    }

    private static string? ProblemOnDisk(string checkpointRoot, CheckpointDto checkpoint)
    {
        if (!Directory.Exists(checkpointRoot))
        {
            return $"{checkpointRoot} does not exist";
        }

        // Only finished folders count: a checkpoint whose manifest exists only in a temporary folder is not on disk yet,
        // and a running dashboard may be writing one right now (it holds the file open).
        var manifest = Manifests(checkpointRoot)
            .FirstOrDefault(path => string.Equals(Sha256(File.ReadAllBytes(path)), checkpoint.Sha256, StringComparison.OrdinalIgnoreCase));
        if (manifest is null)
        {
            return $"no manifest.json in a finished folder under {checkpointRoot} hashes to {checkpoint.Sha256}";
        }

        var folder = Path.GetDirectoryName(manifest)!;

        using var document = JsonDocument.Parse(File.ReadAllBytes(manifest));
        long size = new FileInfo(manifest).Length;
        foreach (var file in document.RootElement.GetProperty("files").EnumerateObject())
        {
            var path = Path.Combine(folder, file.Name);
            if (!File.Exists(path))
            {
                return $"{path} is listed in the manifest but missing";
            }

            var bytes = File.ReadAllBytes(path);
            if (Sha256(bytes) != file.Value.GetString())
            {
                return $"{path} does not match its hash in the manifest";
            }

            size += bytes.Length;
        }

        return size == checkpoint.SizeBytes ? null : $"the files in {folder} add up to {size} bytes, the checkpoint says {checkpoint.SizeBytes}";
    }

    /// <summary>The SHA-256 the checkpoint's manifest records for one of its files (e.g. weights.bin).</summary>
    public static string FileHash(string checkpointRoot, CheckpointDto checkpoint, string file)
    {
        var manifest = Manifests(checkpointRoot)
            .Single(path => string.Equals(Sha256(File.ReadAllBytes(path)), checkpoint.Sha256, StringComparison.OrdinalIgnoreCase));
        using var document = JsonDocument.Parse(File.ReadAllBytes(manifest));
        return document.RootElement.GetProperty("files").GetProperty(file).GetString()!;
    }

    /// <summary>The finished folder holding the checkpoint, found by its manifest's hash.</summary>
    public static string Folder(string checkpointRoot, CheckpointDto checkpoint) =>
        Path.GetDirectoryName(Manifests(checkpointRoot)
            .Single(path => string.Equals(Sha256(File.ReadAllBytes(path)), checkpoint.Sha256, StringComparison.OrdinalIgnoreCase)))!;

    /// <summary>Every finished and temporary folder under the root, relative to it: what an action may not leave behind.</summary>
    public static IReadOnlyList<string> AllFolders(string checkpointRoot) =>
        Directory.Exists(checkpointRoot)
            ? [.. Directory.EnumerateDirectories(checkpointRoot, "*", SearchOption.AllDirectories).Select(d => Path.GetRelativePath(checkpointRoot, d)).Order(StringComparer.Ordinal)]
            : [];

    /// <summary>Temporary folders (unfinished writes) under the root, as full paths.</summary>
    public static IReadOnlyList<string> TemporaryFolders(string checkpointRoot) =>
        Directory.Exists(checkpointRoot)
            ? [.. Directory.EnumerateDirectories(checkpointRoot, $"*{TemporaryMarker}*", SearchOption.AllDirectories)]
            : [];

    /// <summary>The manifest hashes of every finished checkpoint folder under the root, listed in the database or not.</summary>
    public static IReadOnlySet<string> FinishedManifestHashes(string checkpointRoot) =>
        Directory.Exists(checkpointRoot)
            ? Manifests(checkpointRoot).Select(path => Sha256(File.ReadAllBytes(path))).ToHashSet(StringComparer.OrdinalIgnoreCase)
            : new HashSet<string>();

    private static IEnumerable<string> Manifests(string checkpointRoot) =>
        Directory.EnumerateFiles(checkpointRoot, "manifest.json", SearchOption.AllDirectories)
            .Where(path => !Path.GetDirectoryName(path)!.Contains(TemporaryMarker, StringComparison.Ordinal));

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
