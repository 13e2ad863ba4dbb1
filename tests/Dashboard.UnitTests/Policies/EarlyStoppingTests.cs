using Dashboard.Engine.Policies;

namespace Dashboard.UnitTests.Policies;

public sealed class EarlyStoppingTests
{
    private static Dictionary<string, double> Loss(double valLoss) => new() { ["valLoss"] = valLoss };

    [Fact]
    public void Update_FirstEpoch_IsAnImprovement()
    {
        var stopping = new EarlyStopping(new EarlyStoppingConfig { Patience = 1 });

        Assert.Equal((true, false), stopping.Update(1, Loss(3.0)));
        Assert.Equal(new EarlyStoppingState(3.0, 1, 0), stopping.State);
    }

    [Fact]
    public void Update_ImprovementAfterBadEpochs_ResetsWait()
    {
        var stopping = new EarlyStopping(new EarlyStoppingConfig { Patience = 3 });
        stopping.Update(1, Loss(1.0));
        stopping.Update(2, Loss(1.0));
        stopping.Update(3, Loss(1.1));
        Assert.Equal(2, stopping.State.Wait);

        Assert.Equal((true, false), stopping.Update(4, Loss(0.5)));

        Assert.Equal(new EarlyStoppingState(0.5, 4, 0), stopping.State);
    }

    [Fact]
    public void Update_PatienceEpochsWithoutMinDeltaImprovement_Stops()
    {
        var stopping = new EarlyStopping(new EarlyStoppingConfig { Patience = 2, MinDelta = 0.1 });
        stopping.Update(1, Loss(1.0));

        Assert.Equal((false, false), stopping.Update(2, Loss(0.95))); // better, but not by more than MinDelta
        Assert.Equal((false, true), stopping.Update(3, Loss(0.91)));
        Assert.Equal(new EarlyStoppingState(1.0, 1, 2), stopping.State);
    }

    [Fact]
    public void Update_ImprovementByMoreThanMinDelta_Counts()
    {
        var stopping = new EarlyStopping(new EarlyStoppingConfig { Patience = 1, MinDelta = 0.1 });
        stopping.Update(1, Loss(1.0));

        Assert.Equal((true, false), stopping.Update(2, Loss(0.85)));
    }

    [Fact]
    public void Update_AccuracyMonitorAuto_ImprovesUpwards()
    {
        var stopping = new EarlyStopping(new EarlyStoppingConfig { Monitor = "valAccuracy", Patience = 1 });
        static Dictionary<string, double> Accuracy(double value) => new() { ["valAccuracy"] = value };

        stopping.Update(1, Accuracy(0.5));
        Assert.Equal((true, false), stopping.Update(2, Accuracy(0.6)));
        Assert.Equal((false, true), stopping.Update(3, Accuracy(0.55)));
        Assert.Equal(new EarlyStoppingState(0.6, 2, 1), stopping.State);
    }

    [Fact]
    public void Update_ExplicitMaxModeOnLoss_ImprovesUpwards()
    {
        var stopping = new EarlyStopping(new EarlyStoppingConfig { Mode = MonitorMode.Max, Patience = 1 });
        stopping.Update(1, Loss(1.0));

        Assert.Equal((true, false), stopping.Update(2, Loss(2.0)));
        Assert.Equal((false, true), stopping.Update(3, Loss(0.5)));
    }

    [Fact]
    public void Update_NaNMonitor_IsNeverAnImprovement()
    {
        var stopping = new EarlyStopping(new EarlyStoppingConfig { Patience = 2 });
        stopping.Update(1, Loss(1.0));

        Assert.Equal((false, false), stopping.Update(2, Loss(double.NaN)));
        Assert.Equal((false, true), stopping.Update(3, Loss(double.NaN)));
    }

    [Fact]
    public void Update_MonitorNotInMetrics_ChangesNothing()
    {
        var stopping = new EarlyStopping(new EarlyStoppingConfig { Patience = 1 });
        stopping.Update(1, Loss(1.0));

        Assert.Equal((false, false), stopping.Update(2, new Dictionary<string, double> { ["loss"] = 9 }));
        Assert.Equal(new EarlyStoppingState(1.0, 1, 0), stopping.State);
    }

    [Fact]
    public void Constructor_WithRestoredState_ContinuesCounting()
    {
        var config = new EarlyStoppingConfig { Patience = 3 };
        var original = new EarlyStopping(config);
        original.Update(1, Loss(1.0));
        original.Update(2, Loss(1.2));
        original.Update(3, Loss(1.3));

        var restored = new EarlyStopping(config, original.State);

        Assert.Equal(new EarlyStoppingState(1.0, 1, 2), restored.State);
        Assert.Equal((false, true), restored.Update(4, Loss(1.05)));
        Assert.Equal((false, true), original.Update(4, Loss(1.05)));
    }
}
