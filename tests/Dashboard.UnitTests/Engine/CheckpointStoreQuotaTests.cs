using System.Text;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Models;
using Dashboard.Engine.Policies;
using Dashboard.UnitTests.Support;

namespace Dashboard.UnitTests.Engine;

/// <summary>
/// <c>Storage:QuotaBytes</c>: the store's hard limit, which fails a write exactly as a full disk does, so the disk-full
/// handling can be relied on (and tested) without a small volume.
/// </summary>
public sealed class CheckpointStoreQuotaTests : IDisposable
{
    private const string RunFolder = "run-000001";

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Write_BeyondQuota_ThrowsStorageFullAndKeepsEarlierCheckpoints()
    {
        var size = MeasureOne();
        var store = new CheckpointStore(_temp.Combine("quota"), (size * 2) + (size / 2));
        var first = store.Write(RunFolder, "epoch001", Snapshot(1));
        var second = store.Write(RunFolder, "epoch002", Snapshot(2));

        var full = Assert.Throws<CheckpointStorageFullException>(() => store.Write(RunFolder, "epoch003", Snapshot(3)));

        Assert.StartsWith("The disk is full:", full.Message, StringComparison.Ordinal);
        Assert.Contains("Storage:QuotaBytes", full.Message, StringComparison.Ordinal);
        Assert.EndsWith("free space and resume.", full.Message, StringComparison.Ordinal);
        Assert.True(CheckpointStore.IsDiskFull(full));
        Assert.Equal([first.RelativePath, second.RelativePath], store.ListFolders().Order(StringComparer.Ordinal));
        Assert.Equal(Snapshot(1).Weights, store.Read(first.RelativePath, first.Sha256).Weights);
        Assert.Equal(Snapshot(2).Weights, store.Read(second.RelativePath, second.Sha256).Weights);
        Assert.Equal(2, Directory.GetDirectories(Path.Combine(store.Root, RunFolder)).Length);
        Assert.InRange(store.UsedBytes(), 0, store.QuotaBytes!.Value);
    }

    [Fact]
    public void Write_AfterSpaceIsFreed_Succeeds()
    {
        var size = MeasureOne();
        var store = new CheckpointStore(_temp.Combine("quota"), size + (size / 2));
        var first = store.Write(RunFolder, "epoch001", Snapshot(1));
        Assert.Throws<CheckpointStorageFullException>(() => store.Write(RunFolder, "epoch002", Snapshot(2)));

        store.Delete(first.RelativePath);
        var second = store.Write(RunFolder, "epoch002", Snapshot(2));

        Assert.Equal(Snapshot(2).Weights, store.Read(second.RelativePath, second.Sha256).Weights);
    }

    [Fact]
    public void Write_OtherFilesInTheFolder_CountAgainstTheQuota()
    {
        var size = MeasureOne();
        var store = new CheckpointStore(_temp.Combine("quota"), size * 3);

        // Half a checkpoint's room is left, not one byte less than a checkpoint: the manifest's creation time is written
        // with trailing zeros trimmed, so two checkpoints of the same snapshot differ in size by a few bytes.
        File.WriteAllBytes(Path.Combine(store.Root, "filler.bin"), new byte[(size * 2) + (size / 2)]);

        Assert.Throws<CheckpointStorageFullException>(() => store.Write(RunFolder, "epoch001", Snapshot(1)));

        File.Delete(Path.Combine(store.Root, "filler.bin"));
        store.Write(RunFolder, "epoch001", Snapshot(1));
    }

    [Fact]
    public async Task Write_ConcurrentWritersAtTheLimit_NeverGoPastTheQuota()
    {
        var size = MeasureOne();
        var store = new CheckpointStore(_temp.Combine("quota"), (size * 3) + (size / 2));
        using var start = new Barrier(8);

        var results = await Task.WhenAll(Enumerable.Range(1, 8).Select(i => Task.Run(() =>
        {
            start.SignalAndWait();
            try
            {
                store.Write($"run-{i:D6}", "epoch001", Snapshot(i));
                return true;
            }
            catch (CheckpointStorageFullException)
            {
                return false;
            }
        })));

        // Writes in flight hold their whole size until they end, so at most three ever fit, whatever the interleaving.
        Assert.InRange(results.Count(ok => ok), 1, 3);
        Assert.InRange(store.UsedBytes(), 0, store.QuotaBytes!.Value);
        Assert.Empty(Directory.EnumerateDirectories(store.Root, $"*{CheckpointStore.TemporaryMarker}*", SearchOption.AllDirectories));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Constructor_QuotaNotPositive_Throws(long quota)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CheckpointStore(_temp.Combine("quota"), quota));
    }

    [Theory]
    [InlineData(28, true)] // ENOSPC, as .NET reports it on Linux and macOS
    [InlineData(unchecked((int)0x80070070), true)] // ERROR_DISK_FULL
    [InlineData(unchecked((int)0x80070027), true)] // ERROR_HANDLE_DISK_FULL
    [InlineData(5, false)] // EIO
    [InlineData(unchecked((int)0x80070020), false)] // ERROR_SHARING_VIOLATION
    public void IsDiskFull_IOExceptionWithHResult_RecognisesNoSpaceErrors(int hresult, bool expected)
    {
        Assert.Equal(expected, CheckpointStore.IsDiskFull(new IOException("write failed", hresult)));
    }

    [Fact]
    public void IsDiskFull_OtherExceptions_AreNot()
    {
        Assert.False(CheckpointStore.IsDiskFull(new UnauthorizedAccessException()));
        Assert.False(CheckpointStore.IsDiskFull(new FileNotFoundException()));
        Assert.False(CheckpointStore.IsDiskFull(new InvalidOperationException()));
    }

    /// <summary>What one checkpoint of <see cref="Snapshot"/> takes on disk, measured with an unlimited store.</summary>
    private long MeasureOne()
    {
        var store = new CheckpointStore(_temp.Combine($"measure-{Guid.NewGuid():N}"));
        return store.Write(RunFolder, "epoch001", Snapshot(1)).SizeBytes;
    }

    private static CheckpointSnapshot Snapshot(int weightsSeed)
    {
        var weights = new byte[16384];
        new Random(weightsSeed).NextBytes(weights);
        return new CheckpointSnapshot(
            CheckpointKind.Periodic,
            new TrainingPosition(1, 10, 0, 0, 0, 0, 0),
            new Dictionary<string, double> { ["loss"] = 0.25, ["valLoss"] = 0.3125, ["learningRate"] = 0.001 },
            new TrainingConfig { Dataset = "spirals", Epochs = 5, Seed = 7 },
            new ModelSpec { Architecture = "mlp", InputShape = [2], ClassCount = 2, HiddenSizes = [64, 64] },
            weights,
            Encoding.UTF8.GetBytes("optimizer state"),
            [1, 2, 3, 4, 5],
            new TrainerState(0.3125, new ScheduleState(0.001, null, 0, 0), null));
    }
}
