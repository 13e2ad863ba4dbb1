using System.Globalization;

namespace Dashboard.Engine.Checkpoints;

/// <summary>Looking after checkpoint folders: listing, sizing, probing, removing, and the marker that names the volume.</summary>
public sealed partial class CheckpointStore
{
    /// <summary>
    /// The file that says "this is the dashboard's checkpoint folder". An empty folder without it, while the database lists
    /// checkpoints, is an unmounted volume or a moved folder, not checkpoints that all vanished.
    /// </summary>
    public const string VolumeMarkerFile = ".dashboard-checkpoints";

    /// <summary>What <see cref="MoveAway"/> adds to a folder's name, before the time of the rename (Unix seconds) and a GUID.</summary>
    private const string MovedAwayMarker = $"{TemporaryMarker}deleting-";

    /// <summary>Bytes of every file under the root: finished checkpoints, writes in progress and anything else put there.</summary>
    public long UsedBytes() => SizeOfTree(new DirectoryInfo(Root));

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
    /// start-up removes, durably, and returns that name; null when the folder was not there (or went meanwhile: another
    /// process removed it first). Callers that must also drop database rows rename first, drop the rows, then remove the
    /// folder, or <see cref="MoveBack"/> when the rows stay. The name carries the time of the rename, so where several
    /// processes share the folder one of them can tell a deletion cut short long ago from one in progress elsewhere.
    /// </summary>
    public string? MoveAway(string relativePath)
    {
        var folder = Resolve(relativePath);
        if (!Directory.Exists(folder))
        {
            return null;
        }

        var doomed = $"{folder}{MovedAwayMarker}{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}-{Guid.NewGuid():N}";
        try
        {
            Directory.Move(folder, doomed);
        }
        catch (DirectoryNotFoundException) when (!Directory.Exists(folder))
        {
            return null;
        }

        DurableFiles.SyncDirectory(Path.GetDirectoryName(folder)!);
        return doomed;
    }

    /// <summary>Undoes <see cref="MoveAway"/>: the rows that name the folder were kept after all.</summary>
    public void MoveBack(string movedAway, string relativePath)
    {
        var folder = Resolve(relativePath);
        Directory.Move(movedAway, folder);
        DurableFiles.SyncDirectory(Path.GetDirectoryName(folder)!);
    }

    /// <summary>
    /// Folders a <see cref="MoveAway"/> renamed whose removal has not finished (a crash between the rename and the delete,
    /// or, where processes share the folder, a deletion in progress elsewhere), for start-up or the sweep of interrupted
    /// deletions to put back or remove.
    /// </summary>
    public IReadOnlyList<MovedAwayFolder> ListMovedAway()
    {
        var runFolders = Directory.EnumerateDirectories(Root).ToList();
        return [.. runFolders
            .Concat(runFolders.Where(d => !Path.GetFileName(d).Contains(MovedAwayMarker, StringComparison.Ordinal)).SelectMany(Directory.EnumerateDirectories))
            .Where(d => Path.GetFileName(d).Contains(MovedAwayMarker, StringComparison.Ordinal))
            .Select(d =>
            {
                var at = d.LastIndexOf(MovedAwayMarker, StringComparison.Ordinal);
                var suffix = d[(at + MovedAwayMarker.Length)..];
                var dash = suffix.IndexOf('-', StringComparison.Ordinal);

                // Names from before the time was part of them have none: whoever made them is long gone.
                DateTime? movedAt = dash > 0 && long.TryParse(suffix[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                    ? DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime
                    : null;
                return new MovedAwayFolder(d, Relative(d[..at]), movedAt);
            })];
    }

    /// <summary>
    /// Removes the unfinished writes (<c>{name}.tmp-{id}</c>) in one run's folder and returns their names. Only for a
    /// caller that knows no live process still writes that run's checkpoints: the run's new lease holder, whose take-over
    /// fenced every earlier writer. Folders a deletion renamed away are left to whoever deletes them.
    /// </summary>
    public IReadOnlyList<string> RemoveTornWrites(string runFolder)
    {
        var directory = Path.Combine(Root, SafeName(runFolder));
        if (!Directory.Exists(directory))
        {
            return [];
        }

        var removed = new List<string>();
        foreach (var folder in Directory.EnumerateDirectories(directory, $"*{TemporaryMarker}*"))
        {
            var name = Path.GetFileName(folder);
            if (name.Contains(MovedAwayMarker, StringComparison.Ordinal))
            {
                continue;
            }

            try
            {
                Directory.Delete(folder, recursive: true);
                removed.Add(name);
            }
            catch (IOException)
            {
                // Gone meanwhile (its writer's own clean-up), or a fenced writer still adding a file: the writer's failure
                // removes it then, or the next take-over does.
            }
        }

        return removed;
    }

    /// <summary>Every finished checkpoint folder under the root, as run/name relative paths.</summary>
    public IEnumerable<string> ListFolders() => NamedFolders().Where(d => File.Exists(Path.Combine(d, ManifestFile))).Select(Relative);

    /// <summary>
    /// Every folder under its own name in a run's folder, finished or not (no write or deletion in progress), as run/name
    /// relative paths: what a deleted checkpoint may have left.
    /// </summary>
    public IEnumerable<string> ListNamedFolders() => NamedFolders().Select(Relative);

    private IEnumerable<string> NamedFolders() =>
        Directory.EnumerateDirectories(Root)
            .SelectMany(Directory.EnumerateDirectories)
            .Where(d => !Path.GetFileName(d).Contains(TemporaryMarker, StringComparison.Ordinal));

    /// <summary>Bytes of all files in a checkpoint folder.</summary>
    public long SizeOf(string relativePath) => new DirectoryInfo(Resolve(relativePath)).EnumerateFiles().Sum(f => f.Length);

    /// <summary>When a checkpoint folder last had a file added or removed: when its write finished, for one never touched since.</summary>
    public DateTime LastWrittenUtc(string relativePath) => Directory.GetLastWriteTimeUtc(Resolve(relativePath));

    /// <summary>Whether a folder (a run's or a checkpoint's) is there under its name, finished or not.</summary>
    public bool FolderExists(string relativePath) => Directory.Exists(Resolve(relativePath));

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

    public bool HasVolumeMarker() => File.Exists(Path.Combine(Root, VolumeMarkerFile));

    public void WriteVolumeMarker()
    {
        var path = Path.Combine(Root, VolumeMarkerFile);
        if (!File.Exists(path))
        {
            DurableFiles.WriteDurably(path, "This folder holds the training dashboard's checkpoints.\n"u8.ToArray());
            DurableFiles.SyncDirectory(Root);
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

}

/// <summary>A folder <see cref="CheckpointStore.MoveAway"/> renamed: where it is, the name it had, and when it was renamed (null for names without the time).</summary>
public sealed record MovedAwayFolder(string Path, string RelativePath, DateTime? MovedAtUtc);
