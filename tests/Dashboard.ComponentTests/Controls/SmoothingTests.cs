using Dashboard.Web.Components.Controls;

namespace Dashboard.ComponentTests.Controls;

public sealed class SmoothingTests
{
    [Fact]
    public void Ema_WeightZero_ReturnsTheValues()
    {
        Assert.Equal([3.0, 1.0, 2.0], Smoothing.Ema([3, 1, 2], 0));
    }

    [Fact]
    public void Ema_ConstantCurve_StaysConstantFromTheFirstPoint()
    {
        // Debiasing: without it the first smoothed points would be pulled towards zero.
        Assert.All(Smoothing.Ema([5, 5, 5, 5], 0.9), v => Assert.Equal(5, v, 12));
    }

    [Fact]
    public void Ema_TwoPoints_MatchesTheDebiasedFormula()
    {
        var smoothed = Smoothing.Ema([1, 3], 0.5);

        // s1 = 0.5·0 + 0.5·1 = 0.5 → 0.5/(1−0.5) = 1; s2 = 0.5·0.5 + 0.5·3 = 1.75 → 1.75/(1−0.25) = 7/3.
        Assert.Equal(1, smoothed[0], 12);
        Assert.Equal(7.0 / 3, smoothed[1], 12);
    }

    [Fact]
    public void Ema_NaNPoint_StaysNaNAndLeavesTheAverageAlone()
    {
        var smoothed = Smoothing.Ema([2, double.NaN, 2], 0.5);

        Assert.True(double.IsNaN(smoothed[1]));
        Assert.Equal(2, smoothed[2], 12);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1)]
    [InlineData(double.NaN)]
    public void Ema_WeightOutOfRange_Throws(double weight)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Smoothing.Ema([1, 2], weight));
    }
}
