using Dashboard.Engine.Policies;

namespace Dashboard.UnitTests.Policies;

public sealed class FileNameTemplateTests
{
    private static readonly Dictionary<string, double> Metrics = new()
    {
        ["loss"] = 2.0,
        ["valLoss"] = 0.12345,
        ["valAccuracy"] = 0.875,
        ["learningRate"] = 0.00012345,
        ["big"] = 12345.678,
        ["nan"] = double.NaN,
        ["negative"] = -1.5,
    };

    private static string Expand(string template, int epoch = 3, long step = 1234, string kind = "best") =>
        FileNameTemplate.Expand(template, epoch, step, kind, Metrics);

    [Fact]
    public void Expand_KerasExample_ZeroPadsEpochAndRoundsLoss()
    {
        Assert.Equal("epoch03-valLoss0.1235", Expand("epoch{epoch:02d}-valLoss{valLoss:.4f}"));
    }

    [Fact]
    public void Expand_DefaultPolicyTemplate_UsesThreeDigitEpoch()
    {
        Assert.Equal("epoch003-valLoss0.1235", Expand(new CheckpointPolicy().FileNameTemplate));
    }

    [Fact]
    public void Expand_StepAndKindFields_AreSubstituted()
    {
        Assert.Equal("s1234-best", Expand("s{step}-{kind}"));
        Assert.Equal("s001234-periodic", Expand("s{step:06d}-{kind}", kind: "periodic"));
    }

    [Fact]
    public void Expand_ExponentFormat_MatchesPython()
    {
        Assert.Equal("lr1.23e-04", Expand("lr{learningRate:.2e}"));
        Assert.Equal("1.23e+04", Expand("{big:.2e}"));
    }

    [Fact]
    public void Expand_WidthWithoutZero_PadsWithSpaces()
    {
        Assert.Equal("e  3", Expand("e{epoch:3d}"));
        Assert.Equal("a 0.88", Expand("a{valAccuracy:5.2f}"));
    }

    [Fact]
    public void Expand_NoFormat_WholeNumbersWithoutDecimalsOthersShort()
    {
        Assert.Equal("2|0.875|3", Expand("{loss}|{valAccuracy}|{epoch}"));
    }

    [Fact]
    public void Expand_UnknownOrMissingMetric_RendersNa()
    {
        Assert.Equal("x-na-na", Expand("x-{bogus:.3f}-{accuracy}"));
    }

    [Fact]
    public void Expand_NaNValue_RendersNan()
    {
        Assert.Equal("nan-nan-nan", Expand("{nan:.4f}-{nan}-{nan:03d}"));
    }

    [Fact]
    public void Expand_NegativeValueWithZeroPadding_KeepsSignInFront()
    {
        // Python: format(-1.5, '07.2f') == '-001.50'.
        Assert.Equal("-001.50", Expand("{negative:07.2f}"));
    }

    [Fact]
    public void Expand_TextWithoutFields_IsUnchanged()
    {
        Assert.Equal("plain-name", Expand("plain-name"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("epoch{epoch")]
    [InlineData("epoch}")]
    [InlineData("{epoch:x}")]
    [InlineData("{epoch:}")]
    [InlineData("{valLoss:.123f}")]
    [InlineData("{valLoss:4.2g}")]
    [InlineData("../../{epoch}")]
    [InlineData("runs\\{epoch}")]
    public void Problem_UnusableTemplate_ReturnsMessage(string? template)
    {
        Assert.NotNull(FileNameTemplate.Problem(template));
    }

    [Fact]
    public void Problem_TooLong_ReturnsMessage()
    {
        Assert.NotNull(FileNameTemplate.Problem(new string('a', FileNameTemplate.MaxLength + 1)));
        Assert.Null(FileNameTemplate.Problem(new string('a', FileNameTemplate.MaxLength)));
    }

    [Fact]
    public void Problem_UnbalancedBraces_SaysSo()
    {
        Assert.Contains("unbalanced", FileNameTemplate.Problem("epoch{epoch"), StringComparison.Ordinal);
    }

    [Fact]
    public void Problem_UnknownFormatSpec_NamesTheField()
    {
        Assert.Contains("{epoch:x}", FileNameTemplate.Problem("e{epoch:x}"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{epoch:0999999999d}")]
    [InlineData("{epoch:09999999999d}")]
    [InlineData("{epoch:99999999999999999999d}")]
    [InlineData("{epoch:33d}")]
    [InlineData("{valLoss:.18f}")]
    [InlineData("{valLoss:.99e}")]
    [InlineData("{valLoss:40.2f}")]
    public void Problem_WidthOrPrecisionPastBound_ReturnsMessageNamingTheField(string template)
    {
        var problem = FileNameTemplate.Problem(template);
        Assert.NotNull(problem);
        Assert.Contains(template, problem, StringComparison.Ordinal);
        Assert.Matches("width|precision", problem);
    }

    [Theory]
    [InlineData("{epoch:032d}")]
    [InlineData("{valLoss:.17f}")]
    [InlineData("{valLoss:032.17e}")]
    public void Problem_WidthAndPrecisionAtBound_ReturnsNull(string template)
    {
        Assert.Null(FileNameTemplate.Problem(template));
    }

    [Theory]
    [InlineData("{epoch:0999999999d}")]
    [InlineData("{epoch:09999999999d}")]
    [InlineData("{valLoss:.99f}")]
    [InlineData("{nan:0999999999d}")]
    public void Expand_StoredTemplatePastBound_ThrowsFormatExceptionBeforeAllocating(string template)
    {
        // A template stored before the bounds existed: a clear FormatException, not a 2 GB string or an OverflowException.
        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<FormatException>(() => Expand(template));
        Assert.Contains("at most", error.Message, StringComparison.Ordinal);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1024 * 1024, "Expanding allocated a megabyte or more.");
    }

    [Fact]
    public void Expand_WidthAtBound_Pads()
    {
        Assert.Equal(new string('0', 31) + "3", Expand("{epoch:032d}"));
    }

    [Theory]
    [InlineData("epoch{epoch:02d}-valLoss{valLoss:.4f}")]
    [InlineData("epoch{epoch:03d}-valLoss{valLoss:.4f}")]
    [InlineData("{kind}-{step}-{learningRate:.2e}-{epoch:3d}")]
    [InlineData("no-fields")]
    public void Problem_ValidTemplate_ReturnsNull(string template)
    {
        Assert.Null(FileNameTemplate.Problem(template));
    }
}
