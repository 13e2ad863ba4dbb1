using Dashboard.Engine.Training;

namespace Dashboard.UnitTests.Engine;

public sealed class TorchThreadingTests
{
    [Theory]
    [InlineData(0, 2, 1, 2)] // one run keeps torch's default
    [InlineData(0, 8, 2, 4)]
    [InlineData(0, 2, 8, 1)] // never below one
    [InlineData(0, 1, 1, 1)]
    [InlineData(3, 8, 8, 3)] // asked for explicitly
    public void Share_RequestedDefaultAndRuns_GivesEachRunItsShare(int requested, int torchDefault, int runs, int expected)
    {
        Assert.Equal(expected, TorchThreading.Share(requested, torchDefault, runs));
    }

    [Fact]
    public void Share_NegativeRequestOrNoRuns_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TorchThreading.Share(-1, 2, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => TorchThreading.Share(0, 2, 0));
    }
}
