using Dashboard.Engine.Configuration;

namespace Dashboard.Runs.Execution;

/// <summary>What the executor knows of the run it trains.</summary>
/// <param name="DataSha256">The dataset file's hash when the run started, written into each checkpoint's lineage.</param>
/// <param name="LeaseToken">The fencing token this process took the run with; every row it writes checks it.</param>
public sealed record RunContext(int RunId, TrainingConfig Config, int? ParentRunId, int? ParentCheckpointId, string? DataSha256 = null, long LeaseToken = 0);
