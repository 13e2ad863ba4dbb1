using Dashboard.Engine.Datasets;

namespace Dashboard.UnitTests.Engine;

public sealed class DatasetRegistryTests
{
    [Fact]
    public void TryGet_NameStoredByAnotherProcess_FoundThroughTheRefresh()
    {
        var registry = new DatasetRegistry([]);
        var scans = 0;
        registry.RefreshWith(() =>
        {
            scans++;
            registry.TryAdd(new SpiralsDataset());
        });

        Assert.True(registry.TryGet("spirals", out var found));
        Assert.Equal("spirals", found.Info.Name);
        Assert.Equal(1, scans);
    }

    [Fact]
    public void TryGet_UnknownNamesInQuickSuccession_ScanTheFolderOnceASecondAtMost()
    {
        var registry = new DatasetRegistry([]);
        var scans = 0;
        registry.RefreshWith(() => scans++);

        for (var i = 0; i < 50; i++)
        {
            Assert.False(registry.TryGet($"missing-{i}", out _));
        }

        _ = registry.All.ToList();
        Assert.Equal(1, scans);
    }
}
