using Dashboard.Engine.Datasets;

namespace Dashboard.UnitTests.Engine;

public sealed class SpiralsDatasetTests
{
    [Fact]
    public void Load_TwoInstances_GiveIdenticalSamples()
    {
        var first = new SpiralsDataset().Load();
        var second = new SpiralsDataset().Load();

        Assert.NotSame(first, second);
        Assert.Equal(first.Features, second.Features);
        Assert.Equal(first.Labels, second.Labels);
    }

    [Fact]
    public void Load_Always_GivesThousandPointsPerClass()
    {
        var source = new SpiralsDataset();
        var data = source.Load();

        Assert.Equal(source.Info.SampleCount, data.Count);
        Assert.Equal([2], data.SampleShape);
        Assert.Equal(2 * data.Count, data.Features.Length);
        Assert.Equal(1000, data.Labels.Count(l => l == 0));
        Assert.Equal(1000, data.Labels.Count(l => l == 1));
        Assert.All(data.Features, f => Assert.InRange(f, -1.5f, 1.5f));
        Assert.False(source.Info.IsImage);
    }
}
