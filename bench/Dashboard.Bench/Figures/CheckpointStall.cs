using System.Diagnostics;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using Dashboard.Engine.Policies;
using Dashboard.Engine.Training;
using Dashboard.Engine.Training.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Dashboard.Bench.Figures;

/// <summary>Figure 2b's measurements: snapshot capture and the training loop's stall per checkpoint.</summary>
internal static partial class CheckpointSave
{
    /// <summary>The trainer's snapshot capture (weights and optimizer state to memory), replicated on a model of the same size.</summary>
    private static CaptureTimes MeasureCapture(ModelRegistry models, DatasetRegistry datasets, TrainingConfig config, string deviceName, int reps)
    {
        var device = torch.device(deviceName);
        var source = datasets.Get(config.Dataset);
        models.TryGet(config.Model, out var architecture);
        using var splits = DatasetSplitter.Split(source.Load(), config.ValidationSplit, 200, device);
        using var model = models.Build(architecture!.DefaultSpec(source.Info), config.Seed);
        model.to(device);
        using var optimizer = OptimizerFactory.Create(config.Optimizer, model.parameters(), config.LearningRate);
        using (NewDisposeScope())
        {
            // One step, so the Adam moments exist and are non-zero.
            optimizer.ZeroGrad();
            nn.functional.cross_entropy(model.forward(splits.Train.Features), splits.Train.Labels).backward();
            optimizer.Step();
        }

        var times = new CaptureTimes();
        var buffers = new SnapshotBuffers();
        for (var rep = 0; rep < reps + 1; rep++)
        {
            var clock = Stopwatch.StartNew();
            var weightBytes = Trainer.SerializeWeights(model);
            var weightsMs = clock.Elapsed.TotalMilliseconds;
            clock.Restart();
            var stateBytes = optimizer.SaveState();
            var rngBytes = GlobalGenerator.State();
            var optimizerMs = clock.Elapsed.TotalMilliseconds;
            GC.KeepAlive(weightBytes.Length + stateBytes.Length + rngBytes.Length);

            // For comparison: copying the same state tensor to tensor (weights and two moments' worth) inside torch.
            clock.Restart();
            using (NewDisposeScope())
            {
                foreach (var parameter in model.parameters())
                {
                    for (var copy = 0; copy < 3; copy++)
                    {
                        _ = parameter.detach().clone();
                    }
                }
            }

            var cloneMs = clock.Elapsed.TotalMilliseconds;

            // What the trainer does since the copy reuses its arrays: the same copy into arrays touched before (handed
            // back, as the observer does once a snapshot is written), and, apart, what fresh pages alone cost.
            clock.Restart();
            var reusedWeights = Trainer.SerializeWeights(model, buffers.Rent);
            var reusedState = optimizer.SaveState(buffers.Rent);
            var reusedMs = clock.Elapsed.TotalMilliseconds;
            buffers.Lease(reusedWeights, reusedState).Release();
            clock.Restart();
            var fresh = GC.AllocateUninitializedArray<byte>(weightBytes.Length + stateBytes.Length);
            for (var page = 0; page < fresh.Length; page += 4096)
            {
                fresh[page] = 1;
            }

            var freshPagesMs = clock.Elapsed.TotalMilliseconds;
            GC.KeepAlive(fresh);
            if (rep > 0)
            {
                times.ReusedMs.Add(reusedMs);
                times.FreshPagesMs.Add(freshPagesMs);
                times.CloneMs.Add(cloneMs);
                times.WeightsMs.Add(weightsMs);
                times.OptimizerMs.Add(optimizerMs);
                times.TotalMs.Add(weightsMs + optimizerMs);
            }
        }

        return times;
    }

    /// <summary>
    /// One-epoch runs of the real trainer, interleaved: without mid-epoch checkpoints, and with one every
    /// <paramref name="everySteps"/> steps handed to a background write (as PersistingObserver does: at most one in flight).
    /// Full mode adds capture-only and synchronous-write runs, to split the stall.
    /// </summary>
    private static async Task<StallTimes> MeasureStallAsync(
        Trainer trainer, CheckpointStore store, TrainingConfig baseConfig, int everySteps, string device, BenchSettings settings, CancellationToken cancellationToken)
    {
        var times = new StallTimes { EverySteps = everySteps };
        var withSteps = baseConfig with { Checkpoint = new CheckpointPolicy { EverySteps = everySteps } };
        var run = 0;
        async Task<BenchObserver> Train(TrainingConfig config, CheckpointStore? target, bool synchronous, List<double>? gapStalls)
        {
            var observer = new BenchObserver(target, synchronous, $"stall-{++run}");
            var control = new BatchClock();
            // On a thread of its own, as RunExecutor trains a run: on the bench's thread every await that completed later
            // resumed training on another pool thread, each bringing torch another OpenMP team.
            await TorchThread.RunAsync($"bench {observer.RunFolder}", () => trainer.RunAsync(new TrainingRequest(config, device, Control: control), observer, cancellationToken));
            await observer.DrainAsync();
            var folder = Path.Combine(store.Root, observer.RunFolder);
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }

            times.Batches = observer.Batches;
            if (gapStalls is not null)
            {
                // Gap i runs from the end of step i+1 to the end of step i+2; a checkpoint after step s sits in gap s-1.
                var gaps = control.Gaps();
                var checkpointed = observer.MidEpochSteps.Select(step => (int)step - 1).ToHashSet();
                var ordinary = Stats.Median(gaps.Where((_, i) => !checkpointed.Contains(i)));
                gapStalls.AddRange(checkpointed.Where(i => i < gaps.Count).Select(i => gaps[i] - ordinary));
                times.OrdinaryBatchMs.Add(ordinary);
            }

            return observer;
        }

        for (var rep = 0; rep < settings.Pick(2, 4); rep++)
        {
            var none = await Train(baseConfig, null, synchronous: false, null);
            var background = await Train(withSteps, store, synchronous: false, times.GapStallMs);
            times.NoneMs.Add(none.EpochMs);
            times.AsyncMs.Add(background.EpochMs);
            times.Checkpoints = background.MidEpoch;
            times.EpochDifferenceMsPerCheckpoint.Add((background.EpochMs - none.EpochMs) / background.MidEpoch);
            times.ObserverMsPerCheckpoint.Add(background.ObserverMs / background.MidEpoch);
            times.BackPressureMsPerCheckpoint.Add(background.BackPressureMs / background.MidEpoch);
            if (settings.Full)
            {
                times.CaptureOnlyMs.Add((await Train(withSteps, null, synchronous: false, times.CaptureOnlyGapMs)).EpochMs);
                times.SyncMs.Add((await Train(withSteps, store, synchronous: true, times.SyncGapMs)).EpochMs);
            }
        }

        return times;
    }

    /// <summary>
    /// Times every batch boundary: the trainer asks its control for a "checkpoint now" request after each batch, before it
    /// takes any checkpoint, so the gap after a checkpointed batch holds that checkpoint's stall plus one batch of work.
    /// </summary>
    private sealed class BatchClock : ITrainingControl
    {
        private readonly List<long> _ticks = [];

        public bool TakeCheckpointRequest()
        {
            _ticks.Add(Stopwatch.GetTimestamp());
            return false;
        }

        public List<double> Gaps() => [.. _ticks.Zip(_ticks.Skip(1), (a, b) => Stopwatch.GetElapsedTime(a, b).TotalMilliseconds)];
    }

    /// <summary>The default MLP, made wide: 784→4096→2048→10, about 11.6 M parameters (46 MB; with Adam's two moments 140 MB).</summary>
    private static ModelRegistry WideModels()
    {
        ModelRegistry.CreateDefault().TryGet("mlp", out var mlp);
        return new ModelRegistry(
        [
            mlp! with
            {
                DisplayName = "MLP 4096-2048 (bench)",
                DefaultSpec = info => new ModelSpec { Architecture = "mlp", InputShape = info.SampleShape, ClassCount = info.ClassCount, HiddenSizes = Hidden },
            },
        ]);
    }

    private sealed class WriteTimes
    {
        public List<long> DirtyKiBBefore { get; } = [];

        public long Bytes { get; set; }

        public List<double> StoreMs { get; } = [];

        public List<double> PlainMs { get; } = [];

        public List<double> HashMs { get; } = [];

        public List<double> WriteMs { get; } = [];

        public List<double> FsyncMs { get; } = [];
    }

    private sealed class CaptureTimes
    {
        public List<double> WeightsMs { get; } = [];

        public List<double> OptimizerMs { get; } = [];

        public List<double> TotalMs { get; } = [];

        public List<double> CloneMs { get; } = [];

        public List<double> ReusedMs { get; } = [];

        public List<double> FreshPagesMs { get; } = [];
    }

    private sealed class StallTimes
    {
        public int EverySteps { get; init; }

        public int Checkpoints { get; set; }

        public int Batches { get; set; }

        public List<double> NoneMs { get; } = [];

        public List<double> AsyncMs { get; } = [];

        public List<double> CaptureOnlyMs { get; } = [];

        public List<double> SyncMs { get; } = [];

        public List<double> GapStallMs { get; } = [];

        public List<double> CaptureOnlyGapMs { get; } = [];

        public List<double> SyncGapMs { get; } = [];

        public List<double> OrdinaryBatchMs { get; } = [];

        public List<double> EpochDifferenceMsPerCheckpoint { get; } = [];

        public List<double> ObserverMsPerCheckpoint { get; } = [];

        public List<double> BackPressureMsPerCheckpoint { get; } = [];
    }

    /// <summary>
    /// Mirrors PersistingObserver's checkpoint path without the database: wait for the write in flight, then hand the snapshot
    /// to a background task (or, for comparison, write it on the spot). Epoch-end snapshots fall outside the measured epoch
    /// time and are only kept, not written.
    /// </summary>
    private sealed class BenchObserver(CheckpointStore? store, bool synchronous, string runFolder = "warm-up") : ITrainingObserver
    {
        private Task _pending = Task.CompletedTask;

        public string RunFolder { get; } = runFolder;

        public CheckpointSnapshot? Last { get; private set; }

        public double EpochMs { get; private set; }

        public int Batches { get; private set; }

        public int MidEpoch => MidEpochSteps.Count;

        public List<long> MidEpochSteps { get; } = [];

        public double ObserverMs { get; private set; }

        public double BackPressureMs { get; private set; }

        public Task DrainAsync() => _pending;

        public ValueTask OnStartedAsync(RunStartInfo info, CancellationToken cancellationToken)
        {
            Batches = info.BatchesPerEpoch;
            return ValueTask.CompletedTask;
        }

        public void OnProgress(BatchProgress progress)
        {
        }

        public ValueTask OnEpochCompletedAsync(EpochMetrics metrics, CancellationToken cancellationToken)
        {
            EpochMs = metrics.DurationMs;
            return ValueTask.CompletedTask;
        }

        public async ValueTask OnCheckpointAsync(CheckpointSnapshot snapshot, CancellationToken cancellationToken)
        {
            if (snapshot.Position.BatchInEpoch == 0)
            {
                Last = snapshot;
                return;
            }

            MidEpochSteps.Add(snapshot.Position.GlobalStep);
            if (store is null)
            {
                return;
            }

            var clock = Stopwatch.StartNew();
            await _pending;
            BackPressureMs += clock.Elapsed.TotalMilliseconds;
            var name = $"step{snapshot.Position.GlobalStep:D6}-{snapshot.Kind}";
            if (synchronous)
            {
                Write(name, snapshot);
            }
            else
            {
                _pending = Task.Run(() => Write(name, snapshot), CancellationToken.None);
            }

            ObserverMs += clock.Elapsed.TotalMilliseconds;
        }

        /// <summary>As PersistingObserver: once the files are written the snapshot's arrays go back to the trainer.</summary>
        private void Write(string name, CheckpointSnapshot snapshot)
        {
            try
            {
                store!.Write(RunFolder, name, snapshot);
            }
            finally
            {
                snapshot.ReleaseBuffers();
            }
        }
    }
}
