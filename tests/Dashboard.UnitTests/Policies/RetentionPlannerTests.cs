using Dashboard.Engine.Policies;

namespace Dashboard.UnitTests.Policies;

public sealed class RetentionPlannerTests
{
    private static readonly CheckpointPolicy ValLoss = new() { Monitor = "valLoss" };

    // Id = epoch; step 10 per epoch, so a higher id is newer.
    private static RetentionCandidate At(int id, double? monitor, long size = 100, bool pinned = false, bool inUse = false, bool atEpochEnd = true) =>
        new(id, id, id * 10L, atEpochEnd, monitor, size, pinned, inUse);

    [Fact]
    public void ToDelete_NoKeepRules_KeepsEverything()
    {
        RetentionCandidate[] all = [At(1, 0.9), At(2, 0.5), At(3, 0.7), At(4, null), At(5, 0.8)];

        Assert.Empty(RetentionPlanner.ToDelete(all, ValLoss));
    }

    [Fact]
    public void ToDelete_NoCandidates_ReturnsEmpty()
    {
        Assert.Empty(RetentionPlanner.ToDelete([], ValLoss with { KeepLast = 1, MaxBytes = 1 }));
    }

    [Fact]
    public void ToDelete_KeepLastTwo_DeletesAllButTheTwoNewestOldestFirst()
    {
        RetentionCandidate[] all = [At(3, 0.1), At(1, 0.1), At(5, 0.9), At(2, 0.1), At(4, 0.9)];

        Assert.Equal([1, 2, 3], RetentionPlanner.ToDelete(all, ValLoss with { KeepLast = 2 }));
    }

    [Fact]
    public void ToDelete_KeepTopKWithLossMonitorAuto_KeepsLowestValues()
    {
        RetentionCandidate[] all = [At(1, 0.5), At(2, 0.2), At(3, 0.4), At(4, 0.1), At(5, 0.9)];

        var deleted = RetentionPlanner.ToDelete(all, new CheckpointPolicy { Monitor = "valLoss", Mode = MonitorMode.Auto, KeepTopK = 2 });

        Assert.Equal([1, 3], deleted);
    }

    [Fact]
    public void ToDelete_KeepTopKWithAccuracyMonitorAuto_KeepsHighestValues()
    {
        RetentionCandidate[] all = [At(1, 0.7), At(2, 0.2), At(3, 0.9), At(4, 0.1), At(5, 0.3)];

        var deleted = RetentionPlanner.ToDelete(all, new CheckpointPolicy { Monitor = "valAccuracy", Mode = MonitorMode.Auto, KeepTopK = 2 });

        Assert.Equal([2, 4], deleted);
    }

    [Fact]
    public void ToDelete_KeepTopKWithExplicitMaxMode_OverridesLossGuess()
    {
        RetentionCandidate[] all = [At(1, 0.5), At(2, 0.2), At(3, 0.4), At(4, 0.1), At(5, 0.3)];

        var deleted = RetentionPlanner.ToDelete(all, new CheckpointPolicy { Monitor = "valLoss", Mode = MonitorMode.Max, KeepTopK = 2 });

        Assert.Equal([2, 4], deleted);
    }

    [Fact]
    public void ToDelete_NewestIsWorstAndOutsideTopK_NewestIsKept()
    {
        RetentionCandidate[] all = [At(1, 0.1), At(2, 0.2), At(3, 5.0)];

        Assert.Equal([2], RetentionPlanner.ToDelete(all, ValLoss with { KeepTopK = 1, KeepLast = 1 }));

        // Even a budget nothing fits in leaves the newest alone.
        Assert.Equal([1, 2], RetentionPlanner.ToDelete(all, ValLoss with { KeepTopK = 1, KeepLast = 1, MaxBytes = 1 }));
    }

    [Fact]
    public void ToDelete_SameStepTwice_HigherIdCountsAsNewest()
    {
        RetentionCandidate[] all = [new(7, 2, 20, true, 0.9, 100, false, false), new(8, 2, 20, true, 0.9, 100, false, false), At(1, 0.1)];

        Assert.Equal([7], RetentionPlanner.ToDelete(all, ValLoss with { KeepTopK = 1 }));
    }

    [Fact]
    public void ToDelete_PinnedAndInUse_AreNeverDeleted()
    {
        RetentionCandidate[] all = [At(1, 0.9, pinned: true), At(2, 0.9, inUse: true), At(3, 0.9), At(4, 0.9), At(5, 0.9)];

        var deleted = RetentionPlanner.ToDelete(all, ValLoss with { KeepLast = 1, KeepTopK = 1, MaxBytes = 1 });

        Assert.Equal([3, 4], deleted);
    }

    [Fact]
    public void ToDelete_KeepEveryEpochsTwo_KeepsEpochMultiplesAtEpochEndsOnly()
    {
        RetentionCandidate[] all =
        [
            At(1, 0.5),
            new(20, 2, 15, false, null, 100, false, false), // mid-epoch, epoch number 2: not an epoch end
            At(2, 0.5),
            At(3, 0.5),
            At(4, 0.5),
            At(5, 0.5),
        ];

        var deleted = RetentionPlanner.ToDelete(all, ValLoss with { KeepLast = 1, KeepEveryEpochs = 2 });

        Assert.Equal([1, 20, 3], deleted);
    }

    [Fact]
    public void ToDelete_KeepEveryEpochsAlone_KeepsEverything()
    {
        RetentionCandidate[] all = [At(1, 0.5), At(2, 0.5), At(3, 0.5)];

        Assert.Empty(RetentionPlanner.ToDelete(all, ValLoss with { KeepEveryEpochs = 2 }));
    }

    [Fact]
    public void ToDelete_OverMaxBytes_RemovesWorstFirstUntilUnderBudget()
    {
        // 500 bytes against 350: the two worst by valLoss (ids 1 and 3) go, in that order of badness, and nothing more.
        RetentionCandidate[] all = [At(1, 0.9), At(2, 0.2), At(3, 0.8), At(4, 0.3), At(5, 0.5)];

        Assert.Equal([1, 3], RetentionPlanner.ToDelete(all, ValLoss with { MaxBytes = 350 }));
    }

    [Fact]
    public void ToDelete_AtMaxBytesExactly_DeletesNothing()
    {
        RetentionCandidate[] all = [At(1, 0.9), At(2, 0.2), At(3, 0.8)];

        Assert.Empty(RetentionPlanner.ToDelete(all, ValLoss with { MaxBytes = 300 }));
    }

    [Fact]
    public void ToDelete_MaxBytesWithKeepLast_BudgetCountsOnlyWhatKeepLastKept()
    {
        // KeepLast 3 drops 1 and 2; the kept 3..5 weigh 300, so a 300 budget removes nothing more.
        RetentionCandidate[] all = [At(1, 0.1), At(2, 0.1), At(3, 0.9), At(4, 0.9), At(5, 0.9)];

        Assert.Equal([1, 2], RetentionPlanner.ToDelete(all, ValLoss with { KeepLast = 3, MaxBytes = 300 }));
    }

    [Fact]
    public void ToDelete_OverMaxBytesWithOnlyProtectedLeft_StopsAndKeepsThem()
    {
        RetentionCandidate[] all = [At(1, 0.1, pinned: true), At(2, 0.9), At(3, 0.2, inUse: true), At(4, 0.3)];

        var deleted = RetentionPlanner.ToDelete(all, ValLoss with { MaxBytes = 50 });

        Assert.Equal([2], deleted);
    }

    [Fact]
    public void ToDelete_KeepTopKWithMissingMonitorValues_RanksThemLast()
    {
        RetentionCandidate[] all = [At(1, null), At(2, 0.3), At(3, null), At(4, 0.5), At(5, 0.9)];

        Assert.Equal([1, 3], RetentionPlanner.ToDelete(all, ValLoss with { KeepTopK = 2 }));
    }

    [Fact]
    public void ToDelete_OverMaxBytesWithMissingMonitorValues_RemovesThoseFirstOldestFirst()
    {
        RetentionCandidate[] all = [At(1, null), At(2, 0.9), At(3, null), At(4, 0.5), At(5, 0.4)];

        Assert.Equal([1], RetentionPlanner.ToDelete(all, ValLoss with { MaxBytes = 400 }));
        Assert.Equal([1, 3], RetentionPlanner.ToDelete(all, ValLoss with { MaxBytes = 300 }));
    }

    [Theory]
    [InlineData("valLoss")]
    [InlineData("valAccuracy")]
    public void ToDelete_KeepTopKWithNaNMonitor_RanksNaNLastInEitherMode(string monitor)
    {
        // A diverged epoch logs NaN; it must never displace a real value as "best" (MonitorMode.IsImprovement agrees).
        var good = monitor == "valLoss" ? 0.1 : 0.9;
        RetentionCandidate[] all = [At(1, double.NaN), At(2, good), At(3, 0.5)];

        Assert.Equal([1], RetentionPlanner.ToDelete(all, new CheckpointPolicy { Monitor = monitor, KeepTopK = 1 }));
    }
}
