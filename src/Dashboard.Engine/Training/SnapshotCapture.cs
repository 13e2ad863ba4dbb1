using System.Text;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Models;
using Dashboard.Engine.Training.Optimizers;
using static TorchSharp.torch;

namespace Dashboard.Engine.Training;

/// <summary>A snapshot being copied on another thread, and the copy itself.</summary>
internal sealed class SnapshotCapture(Task<CheckpointSnapshot> copy)
{
    public CheckpointSnapshot Finish() => copy.GetAwaiter().GetResult();

    public void WaitQuietly() => ((IAsyncResult)copy).AsyncWaitHandle.WaitOne();

    /// <summary>
    /// Copies weights and optimizer state into arrays of the run's <paramref name="buffers"/> (reused once the observer
    /// has written an earlier snapshot and released it), so a checkpoint costs a copy into memory already mapped rather
    /// than the page faults of 100 MB of fresh memory; the bytes are those of <see cref="Trainer.SerializeWeights"/> and
    /// <see cref="TrainingOptimizer.SaveState()"/>.
    /// </summary>
    public static CheckpointSnapshot Copy(
        string kind,
        TrainingPosition position,
        IReadOnlyDictionary<string, double> metrics,
        TrainingConfig config,
        ModelSpec spec,
        nn.Module<Tensor, Tensor> model,
        TrainingOptimizer optimizer,
        TrainerState state,
        byte[]? bestWeights,
        SnapshotBuffers buffers)
    {
        var weights = SerializeWeights(model, buffers.Rent);
        var optimizerState = optimizer.SaveState(buffers.Rent);
        return new CheckpointSnapshot(kind, position, metrics, config, spec, weights, optimizerState, GlobalGenerator.State(), state, bestWeights)
        {
            Buffers = buffers.Lease(weights, optimizerState),
        };
    }

    /// <summary>
    /// The weights in the file format <c>module.load</c> reads, in an array <paramref name="allocate"/> gives for the exact
    /// size: a first pass only counts the bytes <c>module.save</c> writes, the second writes them, so nothing is copied twice
    /// and no stream grows.
    /// </summary>
    public static byte[] SerializeWeights(nn.Module<Tensor, Tensor> model, Func<int, byte[]> allocate)
    {
        var buffer = allocate(WeightsSize(model));
        using var stream = new MemoryStream(buffer);
        Save(model, stream);
        return stream.Position == buffer.Length
            ? buffer
            : throw new InvalidOperationException($"The weights took {stream.Position} bytes, {buffer.Length} were counted.");
    }

    /// <summary>The length of what <c>module.save</c> writes for <paramref name="model"/>, counted without copying.</summary>
    public static int WeightsSize(nn.Module<Tensor, Tensor> model)
    {
        var counter = new CountingStream();
        Save(model, counter);
        return checked((int)counter.Length);
    }

    private static void Save(nn.Module<Tensor, Tensor> model, Stream target)
    {
        using var writer = new BinaryWriter(target, Encoding.UTF8, leaveOpen: true);
        model.save(writer);
    }

    /// <summary>A stream that only counts what is written to it (no copy: the base class would copy spans through a rented array).</summary>
    private sealed class CountingStream : Stream
    {
        private long _length;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _length;

        public override long Position
        {
            get => _length;
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => _length += count;

        public override void Write(ReadOnlySpan<byte> buffer) => _length += buffer.Length;

        public override void WriteByte(byte value) => _length++;

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
