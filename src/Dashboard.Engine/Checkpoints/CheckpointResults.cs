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
