using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Models;
using Dashboard.Engine.Policies;
using Dashboard.Engine.Training;
using Dashboard.Engine.Training.Optimizers;
using Dashboard.UnitTests.Support;
using static TorchSharp.torch;

namespace Dashboard.UnitTests.Engine;

/// <summary>
/// The trainer's reused snapshot arrays (<see cref="SnapshotBuffers"/>): handed out again only once released, never to two
/// holders, and a copy into a reused (dirty) array gives exactly the bytes a fresh one would.
/// </summary>
public sealed class SnapshotBuffersTests
{
    [Fact]
    public void Rent_AfterTheLeaseIsReleased_HandsOutTheSameArray()
    {
        var buffers = new SnapshotBuffers();
        var first = buffers.Rent(1000);
        var lease = buffers.Lease(first);

        var whileHeld = buffers.Rent(1000);
        lease.Release();
        var afterRelease = buffers.Rent(1000);

        Assert.NotSame(first, whileHeld);
        Assert.Same(first, afterRelease);
    }

    [Fact]
    public void Release_CalledTwice_HandsTheArrayBackOnce()
    {
        // A snapshot copied with `with` shares its lease; releasing both must not give one array to two later snapshots.
        var buffers = new SnapshotBuffers();
        var array = buffers.Rent(1000);
        var snapshot = Snapshot(array, buffers.Lease(array));
        var copy = snapshot with { Kind = CheckpointKind.Best };

        snapshot.ReleaseBuffers();
        copy.ReleaseBuffers();

        Assert.NotSame(buffers.Rent(1000), buffers.Rent(1000));
    }

    [Fact]
    public void Rent_OtherLength_NeverHandsOutAReleasedArray()
    {
        var buffers = new SnapshotBuffers();
        var array = buffers.Rent(1000);
        buffers.Lease(array).Release();

        Assert.Equal(999, buffers.Rent(999).Length);
        Assert.Same(array, buffers.Rent(1000));
    }

    [Fact]
    public void Release_MoreThanKeptPerLength_KeepsOnlyThatMany()
    {
        var buffers = new SnapshotBuffers();
        var arrays = Enumerable.Range(0, SnapshotBuffers.KeptPerLength + 1).Select(_ => buffers.Rent(64)).ToList();
        foreach (var array in arrays)
        {
            buffers.Lease(array).Release();
        }

        var rented = Enumerable.Range(0, SnapshotBuffers.KeptPerLength + 1).Select(_ => buffers.Rent(64)).ToList();

        Assert.Equal(SnapshotBuffers.KeptPerLength, rented.Count(r => arrays.Any(a => ReferenceEquals(a, r))));
    }

    [Fact]
    public void SerializeWeights_IntoADirtyArray_WritesExactlyWhatModuleSaveWrites()
    {
        // Batch norm brings buffers (running statistics) besides parameters, both in the file.
        using var model = nn.Sequential(("fc", nn.Linear(6, 4)), ("bn", nn.BatchNorm1d(4)));
        using (NewDisposeScope())
        {
            model.forward(ones(3, 6));
        }

        var expected = new MemoryStream();
        using (var writer = new BinaryWriter(expected, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            model.save(writer);
        }

        var bytes = Trainer.SerializeWeights(model, Dirty);

        Assert.Equal(expected.ToArray(), bytes);
        Assert.Equal(expected.ToArray(), Trainer.SerializeWeights(model));
    }

    [Fact]
    public void SaveState_IntoADirtyArray_WritesTheSameBytesAsIntoAFreshOne()
    {
        using var model = nn.Linear(6, 4);
        using var optimizer = OptimizerFactory.Create(OptimizerNames.Adam, model.parameters(), 0.01);
        using (NewDisposeScope())
        {
            optimizer.ZeroGrad();
            model.forward(ones(3, 6)).sum().backward();
            optimizer.Step();
        }

        Assert.Equal(optimizer.SaveState(), optimizer.SaveState(Dirty));
    }

    private static byte[] Dirty(int length)
    {
        var array = new byte[length];
        Array.Fill(array, (byte)0xAB);
        return array;
    }

    private static CheckpointSnapshot Snapshot(byte[] weights, BufferLease lease) =>
        new(CheckpointKind.Periodic, new TrainingPosition(1, 10, 0, 0, 0, 0, 0), new Dictionary<string, double>(), TestEngine.MnistSubset(), new ModelSpec { Architecture = "mlp", InputShape = [784], ClassCount = 10 }, weights, [], [], new TrainerState(null, new ScheduleState(0.01, null, 0, 0), null))
        {
            Buffers = lease,
        };
}
