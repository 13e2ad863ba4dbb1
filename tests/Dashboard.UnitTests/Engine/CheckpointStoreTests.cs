using System.Security.Cryptography;
using System.Text;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Models;
using Dashboard.Engine.Policies;
using Dashboard.UnitTests.Support;

namespace Dashboard.UnitTests.Engine;

public sealed class CheckpointStoreTests : IDisposable
{
    private const string RunFolder = "run-000001";

    private readonly TempDirectory _temp = new();
    private readonly CheckpointStore _store;

    public CheckpointStoreTests()
    {
        _store = new CheckpointStore(_temp.Combine("checkpoints"));
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Read_AfterWrite_ReturnsSameBytesAndManifest()
    {
        var snapshot = Snapshot();
        var before = DateTime.UtcNow;

        var written = _store.Write(RunFolder, "epoch003-periodic", snapshot);
        var loaded = _store.Read(written.RelativePath, written.Sha256);

        Assert.Equal($"{RunFolder}/epoch003-periodic", written.RelativePath);
        Assert.Equal(snapshot.Weights, loaded.Weights);
        Assert.Equal(snapshot.OptimizerState, loaded.OptimizerState);
        Assert.Equal(snapshot.TorchRngState, loaded.TorchRngState);
        var manifest = loaded.Manifest;
        Assert.Equal(CheckpointManifest.CurrentFormat, manifest.Format);
        Assert.Equal(snapshot.Kind, manifest.Kind);
        Assert.Equal(snapshot.Position, manifest.Position);
        Assert.Equal(snapshot.Metrics, manifest.Metrics);
        Assert.Equal(snapshot.Config, manifest.Config);
        Assert.Equal(snapshot.ModelSpec, manifest.ModelSpec);
        Assert.False(string.IsNullOrEmpty(manifest.TorchSharpVersion));
        Assert.InRange(manifest.CreatedAtUtc, before, DateTime.UtcNow);
        Assert.Equal(
            [CheckpointStore.OptimizerFile, CheckpointStore.RngFile, CheckpointStore.WeightsFile],
            manifest.Files.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(Sha256(snapshot.Weights), manifest.Files[CheckpointStore.WeightsFile]);
    }

    [Fact]
    public void Read_FilesLongerThanOneChunk_HashesEachFileOnceAndReturnsItsBytes()
    {
        var hashed = new List<string>();
        var store = new CheckpointStore(_temp.Combine("observed"), fileHashed: hashed.Add);
        // Over three read chunks, with a ragged end, so the hash is carried across chunk boundaries.
        var weights = new byte[(3 << 20) + 7];
        new Random(3).NextBytes(weights);
        var written = store.Write(RunFolder, "big", Snapshot() with { Weights = weights });

        var loaded = store.Read(written.RelativePath, written.Sha256);

        Assert.Equal(weights, loaded.Weights);
        Assert.Equal(
            new[] { CheckpointStore.ManifestFile, CheckpointStore.WeightsFile, CheckpointStore.OptimizerFile, CheckpointStore.RngFile }
                .Select(file => $"{written.RelativePath}/{file}"),
            hashed);
    }

    [Fact]
    public void Write_Always_ReportsTotalSizeAndManifestHash()
    {
        var snapshot = Snapshot();

        var written = _store.Write(RunFolder, "last", snapshot);

        var manifest = File.ReadAllBytes(_store.PathOf(written.RelativePath, CheckpointStore.ManifestFile));
        Assert.Equal(Sha256(manifest), written.Sha256);
        Assert.Equal(snapshot.Weights.Length + snapshot.OptimizerState.Length + snapshot.TorchRngState.Length + manifest.Length, written.SizeBytes);
        Assert.Equal(written.SizeBytes, Directory.EnumerateFiles(Folder(written)).Sum(f => new FileInfo(f).Length));
    }

    [Fact]
    public void Write_Always_LeavesOnlyTheFinalFolder()
    {
        var written = _store.Write(RunFolder, "last", Snapshot());

        Assert.Equal([Folder(written)], Directory.GetDirectories(_temp.Combine("checkpoints", RunFolder)));
        Assert.True(_store.Exists(written.RelativePath));
    }

    [Fact]
    public void Write_SameNameTwice_GivesDistinctFolders()
    {
        var first = _store.Write(RunFolder, "best", Snapshot(weightsSeed: 1));
        var second = _store.Write(RunFolder, "best", Snapshot(weightsSeed: 2));

        Assert.Equal($"{RunFolder}/best", first.RelativePath);
        Assert.Equal($"{RunFolder}/best-2", second.RelativePath);
        Assert.Equal(Snapshot(weightsSeed: 1).Weights, _store.Read(first.RelativePath, first.Sha256).Weights);
        Assert.Equal(Snapshot(weightsSeed: 2).Weights, _store.Read(second.RelativePath, second.Sha256).Weights);
    }

    [Fact]
    public void Read_WeightsWithOneByteFlipped_ThrowsCorruptNamingTheFile()
    {
        var written = _store.Write(RunFolder, "last", Snapshot());
        var weights = _store.PathOf(written.RelativePath, CheckpointStore.WeightsFile);
        var bytes = File.ReadAllBytes(weights);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(weights, bytes);

        var error = Assert.Throws<CheckpointCorruptException>(() => _store.Read(written.RelativePath, written.Sha256));

        Assert.Contains(CheckpointStore.WeightsFile, error.Message);
    }

    [Fact]
    public void Read_ManifestEdited_ThrowsCorruptAboutManifestHash()
    {
        var written = _store.Write(RunFolder, "last", Snapshot());
        var manifest = _store.PathOf(written.RelativePath, CheckpointStore.ManifestFile);
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"periodic\"", "\"best\"", StringComparison.Ordinal));

        var error = Assert.Throws<CheckpointCorruptException>(() => _store.Read(written.RelativePath, written.Sha256));

        Assert.Contains("manifest's SHA-256", error.Message);
    }

    [Theory]
    [InlineData(CheckpointStore.ManifestFile)]
    [InlineData(CheckpointStore.WeightsFile)]
    [InlineData(CheckpointStore.OptimizerFile)]
    [InlineData(CheckpointStore.RngFile)]
    public void Read_FileDeleted_ThrowsCorrupt(string file)
    {
        var written = _store.Write(RunFolder, "last", Snapshot());
        File.Delete(_store.PathOf(written.RelativePath, file));

        var error = Assert.Throws<CheckpointCorruptException>(() => _store.Read(written.RelativePath, written.Sha256));

        Assert.Contains(written.RelativePath, error.Message);
    }

    [Theory]
    [InlineData("run-000012/epoch003", 12)]
    [InlineData("run-1234567/last", 1234567)]
    [InlineData("run-000012", 12)]
    [InlineData("run-+12/last", null)]
    [InlineData("run-/last", null)]
    [InlineData("runs-000012/last", null)]
    [InlineData(".uploads/part", null)]
    public void RunIdOf_RelativePath_IsTheRunOfItsRunFolderOrNone(string relativePath, int? expected)
    {
        Assert.Equal(expected, CheckpointStore.RunIdOf(relativePath));
        if (expected is { } runId)
        {
            Assert.StartsWith(CheckpointStore.RunFolder(runId), relativePath, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Read_WholeFolderDeleted_ThrowsCorrupt()
    {
        var written = _store.Write(RunFolder, "last", Snapshot());
        Assert.True(_store.Delete(written.RelativePath));

        Assert.False(_store.Exists(written.RelativePath));
        Assert.False(_store.Delete(written.RelativePath));
        Assert.Throws<CheckpointCorruptException>(() => _store.Read(written.RelativePath, written.Sha256));
    }

    [Theory]
    [InlineData(CheckpointStore.ManifestFile)]
    [InlineData(CheckpointStore.WeightsFile)]
    public void Read_FileThatCannotBeOpened_ThrowsUnreadableNotCorrupt(string file)
    {
        var written = _store.Write(RunFolder, "last", Snapshot());

        // A directory in the file's place fails to open with an access error, as an unreadable file does; permission bits
        // would not do it, since the tests may run as root.
        var path = _store.PathOf(written.RelativePath, file);
        File.Delete(path);
        Directory.CreateDirectory(path);

        var error = Assert.Throws<CheckpointUnreadableException>(() => _store.Read(written.RelativePath, written.Sha256));
        Assert.Contains(written.RelativePath, error.Message);
    }

    [Fact]
    public void Probe_FolderThereGoneOrUnreadable_AnswersTrueFalseOrThrows()
    {
        var written = _store.Write(RunFolder, "last", Snapshot());
        var unreadable = _store.Write(RunFolder, "unreadable", Snapshot());
        var manifest = _store.PathOf(unreadable.RelativePath, CheckpointStore.ManifestFile);
        File.Delete(manifest);
        Directory.CreateDirectory(manifest);

        Assert.True(_store.Probe(written.RelativePath));
        Assert.True(_store.Delete(written.RelativePath));
        Assert.False(_store.Probe(written.RelativePath));
        Assert.False(_store.Probe("run-999999/never-written"));

        // Not "gone": start-up must not mark a checkpoint missing because its folder could not be looked at.
        Assert.Throws<UnauthorizedAccessException>(() => _store.Probe(unreadable.RelativePath));
    }

    [Fact]
    public void Write_BesideLeftoverTemporaryFolder_NeitherReusesNorListsIt()
    {
        // A crash between writing the files and the rename leaves a complete-looking folder under its temporary name.
        var leftover = _temp.Combine("checkpoints", RunFolder, $"last{CheckpointStore.TemporaryMarker}0123456789abcdef");
        Directory.CreateDirectory(leftover);
        File.WriteAllText(Path.Combine(leftover, CheckpointStore.WeightsFile), "torn");

        var written = _store.Write(RunFolder, "last", Snapshot());

        Assert.Equal($"{RunFolder}/last", written.RelativePath);
        Assert.DoesNotContain(CheckpointStore.TemporaryMarker, written.RelativePath);
        Assert.Equal("torn", File.ReadAllText(Path.Combine(leftover, CheckpointStore.WeightsFile)));
        Assert.Equal(Snapshot().Weights, _store.Read(written.RelativePath, written.Sha256).Weights);
    }

    [Fact]
    public void Write_OnlyTemporaryFolderPresent_DoesNotCountAsExisting()
    {
        Directory.CreateDirectory(_temp.Combine("checkpoints", RunFolder, $"last{CheckpointStore.TemporaryMarker}0123456789abcdef"));

        Assert.False(_store.Exists($"{RunFolder}/last"));
    }

    [Fact]
    public void Write_PayloadFailsMidway_RemovesItsTemporaryFolder()
    {
        var broken = Snapshot() with { OptimizerState = null! };

        Assert.ThrowsAny<ArgumentException>(() => _store.Write(RunFolder, "last", broken));

        Assert.Empty(Directory.GetDirectories(_temp.Combine("checkpoints", RunFolder)));
    }

    [Fact]
    public void ListMovedAway_FoldersRenamedByMoveAway_GivesTheirOldNamesAndTheTimeOfTheRename()
    {
        var written = _store.Write(RunFolder, "epoch001-periodic", Snapshot());
        var before = DateTime.UtcNow.AddSeconds(-1);
        var checkpointAway = _store.MoveAway(written.RelativePath);
        var runAway = _store.MoveAway(RunFolder);

        // Where several processes share the folder, the time tells a deletion cut short from one in progress elsewhere. The
        // checkpoint renamed away inside the run's folder goes with it.
        Assert.NotNull(checkpointAway);
        var listed = _store.ListMovedAway();
        Assert.Equal([RunFolder], listed.Select(f => f.RelativePath));
        Assert.Equal(runAway, listed[0].Path);
        Assert.InRange(listed[0].MovedAtUtc!.Value, before, DateTime.UtcNow);
    }

    [Fact]
    public void ListMovedAway_NameWithoutTheTime_IsListedWithoutOne()
    {
        // Folders renamed before the name carried the time.
        var old = _temp.Combine("checkpoints", $"{RunFolder}.tmp-deleting-{Guid.NewGuid():N}");
        Directory.CreateDirectory(old);

        var listed = Assert.Single(_store.ListMovedAway());

        Assert.Equal((old, RunFolder, (DateTime?)null), (listed.Path, listed.RelativePath, listed.MovedAtUtc));
    }

    [Fact]
    public void MoveAway_FolderNotThere_ReturnsNull()
    {
        Assert.Null(_store.MoveAway($"{RunFolder}/epoch009-periodic"));
    }

    [Fact]
    public void Write_MetricsWithNaN_RoundTrips()
    {
        var snapshot = Snapshot() with { Metrics = new Dictionary<string, double> { ["loss"] = double.NaN, ["valLoss"] = double.PositiveInfinity } };

        var written = _store.Write(RunFolder, "last", snapshot);

        Assert.Equal(snapshot.Metrics, _store.Read(written.RelativePath, written.Sha256).Manifest.Metrics);
    }

    [Fact]
    public void Read_StoreRootWithTrailingSeparator_FindsWrittenCheckpoint()
    {
        var store = new CheckpointStore(_temp.Combine("slashed") + Path.DirectorySeparatorChar);

        var written = store.Write(RunFolder, "last", Snapshot());

        Assert.Equal(Snapshot().Weights, store.Read(written.RelativePath, written.Sha256).Weights);
    }

    [Theory]
    [InlineData("a/b:c*?", "a_b_c__")]
    [InlineData("..", "checkpoint")]
    [InlineData("../..", "_")]
    [InlineData(" .hidden. ", "hidden")]
    [InlineData("", "checkpoint")]
    [InlineData("tab\there", "tab_here")]
    [InlineData("epoch003-best", "epoch003-best")]
    public void SafeName_Input_GivesOneHarmlessSegment(string name, string expected)
    {
        var safe = CheckpointStore.SafeName(name);

        Assert.Equal(expected, safe);
        Assert.DoesNotContain('/', safe);
        Assert.NotEqual("..", safe);
    }

    [Fact]
    public void SafeName_VeryLongName_IsCutTo120Characters()
    {
        Assert.Equal(new string('x', 120), CheckpointStore.SafeName(new string('x', 500)));
    }

    [Fact]
    public void Write_RunFolderAndNameTryingToEscape_StayInsideRoot()
    {
        var written = _store.Write("../../outside", "../x", Snapshot());

        Assert.StartsWith(_store.Root + Path.DirectorySeparatorChar, Folder(written), StringComparison.Ordinal);
        Assert.False(Directory.Exists(_temp.Combine("outside")));
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("..")]
    [InlineData("")]
    [InlineData("run/../../x")]
    [InlineData("../checkpoints-sibling/x")]
    [InlineData("/etc")]
    public void Read_PathOutsideRoot_ThrowsArgumentException(string relativePath)
    {
        Assert.Throws<ArgumentException>(() => _store.Read(relativePath, new string('0', 64)));
        Assert.Throws<ArgumentException>(() => _store.Exists(relativePath));
        Assert.Throws<ArgumentException>(() => _store.Delete(relativePath));
    }

    [Fact]
    public void PathOf_FileNameWithSeparators_StaysInCheckpointFolder()
    {
        var written = _store.Write(RunFolder, "last", Snapshot());

        Assert.Equal(Path.Combine(Folder(written), "_weights.bin"), _store.PathOf(written.RelativePath, "../weights.bin"));
    }

    private string Folder(WrittenCheckpoint written) => Path.Combine(_store.Root, written.RelativePath);

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static CheckpointSnapshot Snapshot(int weightsSeed = 0)
    {
        var weights = new byte[4096];
        new Random(weightsSeed).NextBytes(weights);
        return new CheckpointSnapshot(
            CheckpointKind.Periodic,
            new TrainingPosition(3, 153, 0, 0, 0, 0, 0),
            new Dictionary<string, double> { ["loss"] = 0.25, ["valLoss"] = 0.3125, ["accuracy"] = 0.9, ["learningRate"] = 0.001 },
            new TrainingConfig { Dataset = "spirals", Epochs = 5, Seed = 7, SampleLimit = 500 },
            new ModelSpec { Architecture = "mlp", InputShape = [2], ClassCount = 2, HiddenSizes = [64, 64] },
            weights,
            Encoding.UTF8.GetBytes("optimizer state"),
            [1, 2, 3, 4, 5],
            new TrainerState(0.3125, new ScheduleState(0.001, null, 0, 0), null));
    }
}
