using Dashboard.Engine.Checkpoints;

namespace Dashboard.Runs.Checkpoints;

/// <summary>
/// A checkpoint's files as read and checked against their hashes when a run was asked to start from it: handed from the
/// launcher to the executor so the same bytes are not read and hashed again a moment later.
/// </summary>
public sealed record VerifiedCheckpoint(int CheckpointId, LoadedCheckpoint Loaded);
