using Dashboard.Engine.Policies;

namespace Dashboard.UnitTests.Policies;

public sealed class LearningRateSchedulerTests
{
    private static readonly Dictionary<string, double> NoMetrics = [];

    private static Dictionary<string, double> Loss(double valLoss) => new() { ["valLoss"] = valLoss };

    private static void AssertClose(double expected, double actual) => Assert.Equal(expected, actual, expected * 1e-12);

    [Fact]
    public void Step_ConstantSchedule_KeepsBaseRate()
    {
        var scheduler = new LearningRateScheduler(new ScheduleConfig { Type = ScheduleConfig.Constant }, 0.01, 10);

        Assert.Equal(0.01, scheduler.LearningRate);
        for (var epoch = 1; epoch <= 10; epoch++)
        {
            Assert.Equal(0.01, scheduler.Step(epoch, Loss(1.0 / epoch)));
        }
    }

    [Fact]
    public void Step_NoScheduleConfig_IsConstant()
    {
        var scheduler = new LearningRateScheduler(null, 0.01, 10);

        Assert.Equal(0.01, scheduler.Step(1, Loss(5)));
        Assert.Equal(0.01, scheduler.Step(2, Loss(9)));
    }

    [Fact]
    public void Step_StepDecay_MultipliesByGammaEveryStepEpochs()
    {
        var scheduler = new LearningRateScheduler(new ScheduleConfig { Type = ScheduleConfig.Step, StepEpochs = 10, Gamma = 0.75 }, 1e-3, 30);

        Assert.Equal(1e-3, scheduler.LearningRate);
        AssertClose(1e-3, scheduler.Step(9, NoMetrics));
        AssertClose(7.5e-4, scheduler.Step(10, NoMetrics));
        AssertClose(7.5e-4, scheduler.Step(19, NoMetrics));
        AssertClose(5.625e-4, scheduler.Step(20, NoMetrics));
        AssertClose(5.625e-4, scheduler.LearningRate);
    }

    [Fact]
    public void Step_Cosine_StartsAtBaseAndReachesMinimumAtCosineEpochs()
    {
        var config = new ScheduleConfig { Type = ScheduleConfig.Cosine, CosineEpochs = 10, MinLearningRate = 1e-4 };
        var scheduler = new LearningRateScheduler(config, 0.1, 50);

        Assert.Equal(0.1, scheduler.LearningRate);
        AssertClose(0.1, scheduler.Step(0, NoMetrics));
        AssertClose(1e-4 + ((0.1 - 1e-4) / 2), scheduler.Step(5, NoMetrics));
        AssertClose(1e-4, scheduler.Step(10, NoMetrics));
        AssertClose(1e-4, scheduler.Step(15, NoMetrics));
    }

    [Fact]
    public void Step_CosineWithoutCosineEpochs_SpansTheRunsEpochs()
    {
        var scheduler = new LearningRateScheduler(new ScheduleConfig { Type = ScheduleConfig.Cosine }, 0.1, 4);

        AssertClose(0.05, scheduler.Step(2, NoMetrics));
        Assert.Equal(0, scheduler.Step(4, NoMetrics), 1e-15);
    }

    [Fact]
    public void Step_CosineDecreasesMonotonically()
    {
        var scheduler = new LearningRateScheduler(new ScheduleConfig { Type = ScheduleConfig.Cosine, CosineEpochs = 8 }, 0.1, 8);
        var rates = Enumerable.Range(1, 8).Select(e => scheduler.Step(e, NoMetrics)).ToList();

        Assert.All(rates.Zip(rates.Skip(1)), pair => Assert.True(pair.Second < pair.First));
    }

    [Fact]
    public void Step_PlateauPatienceTwo_ReducesByFactorAfterThreeBadEpochs()
    {
        var scheduler = new LearningRateScheduler(new ScheduleConfig { Type = ScheduleConfig.Plateau, Patience = 2, Factor = 0.5 }, 0.1, 20);

        Assert.Equal(0.1, scheduler.Step(1, Loss(1.0)));
        Assert.Equal(0.1, scheduler.Step(2, Loss(1.0)));
        Assert.Equal(0.1, scheduler.Step(3, Loss(1.0)));
        Assert.Equal(0.05, scheduler.Step(4, Loss(1.0)));
        Assert.Equal(new ScheduleState(0.05, 1.0, 0, 0), scheduler.State);
    }

    [Fact]
    public void Step_PlateauImprovementBeyondThreshold_ResetsBadEpochs()
    {
        var config = new ScheduleConfig { Type = ScheduleConfig.Plateau, Patience = 1, Factor = 0.5, Threshold = 0.1 };
        var scheduler = new LearningRateScheduler(config, 0.1, 20);

        scheduler.Step(1, Loss(1.0));
        scheduler.Step(2, Loss(0.95)); // not 10 % better: bad epoch 1
        Assert.Equal(1, scheduler.State.BadEpochs);
        scheduler.Step(3, Loss(0.85)); // 15 % better: resets
        Assert.Equal(new ScheduleState(0.1, 0.85, 0, 0), scheduler.State);
        Assert.Equal(0.1, scheduler.Step(4, Loss(0.85)));
        Assert.Equal(0.05, scheduler.Step(5, Loss(0.85)));
    }

    [Fact]
    public void Step_PlateauMaxMode_TreatsRisingAccuracyAsImprovement()
    {
        var config = new ScheduleConfig { Type = ScheduleConfig.Plateau, Monitor = "valAccuracy", Patience = 0, Factor = 0.5 };
        var scheduler = new LearningRateScheduler(config, 0.1, 20);

        Assert.Equal(0.1, scheduler.Step(1, new Dictionary<string, double> { ["valAccuracy"] = 0.5 }));
        Assert.Equal(0.1, scheduler.Step(2, new Dictionary<string, double> { ["valAccuracy"] = 0.6 }));
        Assert.Equal(0.05, scheduler.Step(3, new Dictionary<string, double> { ["valAccuracy"] = 0.55 }));
    }

    [Fact]
    public void Step_PlateauCooldown_WaitsBeforeCountingBadEpochsAgain()
    {
        var config = new ScheduleConfig { Type = ScheduleConfig.Plateau, Patience = 0, Factor = 0.5, Cooldown = 2 };
        var scheduler = new LearningRateScheduler(config, 0.1, 20);

        var rates = Enumerable.Range(1, 6).Select(e => scheduler.Step(e, Loss(1.0))).ToList();

        // Same as torch.optim.lr_scheduler.ReduceLROnPlateau(patience=0, cooldown=2, factor=0.5).
        Assert.Equal([0.1, 0.05, 0.05, 0.05, 0.025, 0.025], rates);
    }

    [Fact]
    public void Step_PlateauAtMinLearningRate_StopsReducing()
    {
        var config = new ScheduleConfig { Type = ScheduleConfig.Plateau, Patience = 0, Factor = 0.1, MinLearningRate = 0.005 };
        var scheduler = new LearningRateScheduler(config, 0.1, 20);

        var rates = Enumerable.Range(1, 5).Select(e => scheduler.Step(e, Loss(1.0))).ToList();

        Assert.Equal(0.1, rates[0]);
        AssertClose(0.01, rates[1]);
        Assert.Equal([0.005, 0.005, 0.005], rates.Skip(2));
    }

    [Fact]
    public void Step_PlateauWithoutMonitorInMetrics_LeavesStateAlone()
    {
        var scheduler = new LearningRateScheduler(new ScheduleConfig { Type = ScheduleConfig.Plateau, Patience = 0 }, 0.1, 20);
        scheduler.Step(1, Loss(1.0));
        var before = scheduler.State;

        scheduler.Step(2, NoMetrics);
        scheduler.Step(3, NoMetrics);

        Assert.Equal(before, scheduler.State);
    }

    [Theory]
    [InlineData(ScheduleConfig.Plateau)]
    [InlineData(ScheduleConfig.Step)]
    [InlineData(ScheduleConfig.Cosine)]
    public void Constructor_WithAnotherSchedulersState_ContinuesIdentically(string type)
    {
        var config = new ScheduleConfig { Type = type, Patience = 1, Factor = 0.5, Cooldown = 1, StepEpochs = 3, Gamma = 0.5, MinLearningRate = 1e-4 };
        double[] losses = [1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7, 0.8, 0.9, 0.91, 0.92];
        var original = new LearningRateScheduler(config, 0.1, losses.Length);
        for (var epoch = 1; epoch <= 5; epoch++)
        {
            original.Step(epoch, Loss(losses[epoch - 1]));
        }

        var restored = new LearningRateScheduler(config, 0.1, losses.Length, original.State);
        Assert.Equal(original.State, restored.State);
        Assert.Equal(original.LearningRate, restored.LearningRate);

        for (var epoch = 6; epoch <= losses.Length; epoch++)
        {
            Assert.Equal(original.Step(epoch, Loss(losses[epoch - 1])), restored.Step(epoch, Loss(losses[epoch - 1])));
            Assert.Equal(original.State, restored.State);
        }
    }

    [Fact]
    public void Constructor_WithPlateauStateMidCooldown_KeepsBadEpochsAndCooldown()
    {
        var config = new ScheduleConfig { Type = ScheduleConfig.Plateau, Patience = 0, Factor = 0.5, Cooldown = 2 };

        var scheduler = new LearningRateScheduler(config, 0.1, 20, new ScheduleState(0.05, 1.0, 0, 1));

        Assert.Equal(0.05, scheduler.LearningRate);
        Assert.Equal(0.05, scheduler.Step(3, Loss(1.0))); // last cooldown epoch
        Assert.Equal(0.025, scheduler.Step(4, Loss(1.0)));
    }
}
