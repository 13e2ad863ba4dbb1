using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using Dashboard.Engine.Policies;
using Dashboard.Plugins;
using Dashboard.UnitTests.Support;

namespace Dashboard.UnitTests.Engine;

/// <summary>A checkpoint records the hash of the data it was trained on; a later start on changed data is told apart.</summary>
public sealed class DataDriftTests : IDisposable
{
    private static readonly string Then = new('a', 64);
    private static readonly string Now = new('b', 64);

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Write_LineageWithDataHash_ManifestReadBackHoldsIt()
    {
        var store = new CheckpointStore(_temp.Combine("checkpoints"));

        var written = store.Write("run-000001", "last", Snapshot(), new CheckpointLineage(1, null, null, Then));

        Assert.Equal(Then, store.TryReadManifest(written.RelativePath)!.Manifest.Lineage!.DataSha256);
    }

    [Fact]
    public void Deserialize_LineageWrittenBeforeTheHashWasRecorded_LoadsWithoutIt()
    {
        var lineage = JsonSerializer.Deserialize<CheckpointLineage>("""{"runId":3,"parentRunId":2,"parentCheckpointId":9}""", JsonSerializerOptions.Web)!;

        Assert.Equal(new CheckpointLineage(3, 2, 9), lineage);
        Assert.Null(lineage.DataSha256);
    }

    [Fact]
    public void Warning_SameDataAsTheCheckpoint_IsNull() =>
        Assert.Null(DataDrift.Warning(Manifest("mnist", Then), 4, "mnist", Then));

    [Fact]
    public void Warning_DataChangedSinceTheCheckpoint_NamesTheDatasetCheckpointAndBothHashes()
    {
        var warning = DataDrift.Warning(Manifest("mnist", Then), 4, "MNIST", Now);

        Assert.NotNull(warning);
        Assert.Contains("'MNIST'", warning, StringComparison.Ordinal);
        Assert.Contains("checkpoint #4", warning, StringComparison.Ordinal);
        Assert.Contains(Then[..12], warning, StringComparison.Ordinal);
        Assert.Contains(Now[..12], warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Warning_DataFileGone_SaysItCannotBeRead()
    {
        var warning = DataDrift.Warning(Manifest("houses", Then), 4, "houses", null);

        Assert.Contains("cannot be read", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Warning_FineTuneOnAnotherDataset_IsNull() =>
        Assert.Null(DataDrift.Warning(Manifest("mnist", Then), 4, "houses", Now));

    [Fact]
    public void Warning_CheckpointWithoutARecordedHash_IsNull() =>
        Assert.Null(DataDrift.Warning(Manifest("mnist", null), 4, "mnist", Now));

    [Fact]
    public void DataSha256_MnistFileSwappedUnderTheSamePath_ChangesWithTheContent()
    {
        var path = _temp.Combine("mnist.bin.gz");
        File.WriteAllBytes(path, Encoding.UTF8.GetBytes("first"));
        IDatasetSource mnist = new MnistDataset(path);
        var first = mnist.DataSha256();

        File.WriteAllBytes(path, Encoding.UTF8.GetBytes("second"));

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData("first"u8)), first);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData("second"u8)), mnist.DataSha256());
        File.Delete(path);
        Assert.Null(mnist.DataSha256());
    }

    private static CheckpointManifest Manifest(string dataset, string? dataSha256) => new()
    {
        Kind = CheckpointKind.Last,
        Position = new TrainingPosition(3, 30, 0, 0, 0, 0, 0),
        Metrics = new Dictionary<string, double>(),
        Config = new TrainingConfig { Dataset = dataset },
        ModelSpec = new ModelSpec { Architecture = "mlp", InputShape = [2], ClassCount = 2, HiddenSizes = [8] },
        Files = new Dictionary<string, string>(),
        State = new TrainerState(0.5, new ScheduleState(0.001, null, 0, 0), null),
        Lineage = new CheckpointLineage(1, null, null, dataSha256),
        TorchSharpVersion = "test",
        RuntimeVersion = "test",
        CreatedAtUtc = DateTime.UtcNow,
    };

    private static CheckpointSnapshot Snapshot() => new(
        CheckpointKind.Last,
        new TrainingPosition(3, 30, 0, 0, 0, 0, 0),
        new Dictionary<string, double> { ["loss"] = 0.25 },
        new TrainingConfig { Dataset = "spirals", Epochs = 5 },
        new ModelSpec { Architecture = "mlp", InputShape = [2], ClassCount = 2, HiddenSizes = [8] },
        new byte[64],
        Encoding.UTF8.GetBytes("optimizer state"),
        [1, 2, 3],
        new TrainerState(0.5, new ScheduleState(0.001, null, 0, 0), null));
}
