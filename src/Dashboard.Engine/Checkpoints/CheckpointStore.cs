using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dashboard.Engine.Checkpoints;

/// <summary>
/// Checkpoint folders under one root: <c>{root}/{run}/{name}/manifest.json</c> beside <c>weights.bin</c> (TorchSharp's
/// module format), <c>optimizer.bin</c> and <c>rng.bin</c>. A folder appears under its final name only once every byte is
/// on disk: files are written into a temporary sibling, flushed and fsynced, then the folder is renamed and its parent fsynced.
/// </summary>
/// <remarks>
/// One class, split by job: writing under the quota (CheckpointStore.Writing.cs), reading and verifying
/// (CheckpointStore.Reading.cs), and looking after folders (CheckpointStore.Folders.cs); this file holds the layout rules.
/// </remarks>
public sealed partial class CheckpointStore
{
    /// <summary>The folder, relative to the root, that holds every checkpoint of a run: one naming rule for all writers.</summary>
    public static string RunFolder(int runId) => $"run-{runId:D6}";

    /// <summary>The run whose <see cref="RunFolder"/> holds <paramref name="relativePath"/>; null for any other path.</summary>
    public static int? RunIdOf(string relativePath)
    {
        var runFolder = relativePath.Split('/')[0];
        return runFolder.StartsWith("run-", StringComparison.Ordinal)
            && int.TryParse(runFolder.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? id
            : null;
    }

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

    private readonly Action<string>? _fileHashed;

    /// <param name="root">The folder that holds every run's checkpoint folders; created when missing.</param>
    /// <param name="quotaBytes">
    /// At most this many bytes under <paramref name="root"/>; a write that would go beyond it fails as if the disk were
    /// full. Null for no limit but the volume's own.
    /// </param>
    /// <param name="fileHashed">
    /// Told the path (relative to the root) of every file read and hashed, as it is: how measurements and tests see how
    /// often a checkpoint's bytes cross the disk.
    /// </param>
    public CheckpointStore(string root, long? quotaBytes = null, Action<string>? fileHashed = null)
    {
        if (quotaBytes is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(quotaBytes), quotaBytes, "The quota must be positive, or null for none.");
        }

        Root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        QuotaBytes = quotaBytes;
        _fileHashed = fileHashed;
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public long? QuotaBytes { get; }

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

    private string Relative(string path) => Path.GetRelativePath(Root, path).Replace('\\', '/');
}
