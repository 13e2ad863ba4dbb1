using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Training;

namespace Dashboard.UnitTests.Policies;

/// <summary>Records what a training run reports; optionally reacts to each checkpoint (e.g. to cancel the run).</summary>
internal sealed class PolicyTestObserver(Action<CheckpointSnapshot>? onCheckpoint = null) : ITrainingObserver
{
    public RunStartInfo? Started { get; private set; }

    public List<EpochMetrics> Epochs { get; } = [];

    public List<CheckpointSnapshot> Checkpoints { get; } = [];

    public IEnumerable<CheckpointSnapshot> MidEpoch => Checkpoints.Where(c => c.Position.BatchInEpoch > 0);

    public IEnumerable<CheckpointSnapshot> EpochEnds => Checkpoints.Where(c => c.Position.BatchInEpoch == 0);

    public ValueTask OnStartedAsync(RunStartInfo info, CancellationToken cancellationToken)
    {
        Started = info;
        return ValueTask.CompletedTask;
    }

    public void OnProgress(BatchProgress progress)
    {
    }

    public ValueTask OnEpochCompletedAsync(EpochMetrics metrics, CancellationToken cancellationToken)
    {
        Epochs.Add(metrics);
        return ValueTask.CompletedTask;
    }

    public ValueTask OnCheckpointAsync(CheckpointSnapshot snapshot, CancellationToken cancellationToken)
    {
        Checkpoints.Add(snapshot);
        onCheckpoint?.Invoke(snapshot);
        return ValueTask.CompletedTask;
    }
}

/// <summary>An <see cref="ITrainingControl"/> that asks for a checkpoint on exactly one (1-based) call, i.e. after that batch.</summary>
internal sealed class PolicyTestControl(int requestOnCall) : ITrainingControl
{
    public int Calls { get; private set; }

    public bool TakeCheckpointRequest() => ++Calls == requestOnCall;
}

/// <summary>A temporary folder removed on dispose.</summary>
internal sealed class PolicyTempDirectory : IDisposable
{
    public PolicyTempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "policy-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the OS cleans the temp folder eventually.
        }
    }
}
