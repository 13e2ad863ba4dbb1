using Dashboard.Engine.Configuration;
using Dashboard.Engine.Policies;

namespace Dashboard.UnitTests.Policies;

public sealed class PolicyValidationTests
{
    private static readonly TrainingConfig Valid = PolicyTraining.Config(3) with
    {
        Schedule = new ScheduleConfig { Type = ScheduleConfig.Plateau },
        EarlyStopping = new EarlyStoppingConfig(),
    };

    private static readonly Dictionary<string, Func<TrainingConfig, TrainingConfig>> Breakers = new()
    {
        ["checkpointMonitorNotLogged"] = c => c with { Checkpoint = c.Checkpoint with { Monitor = "val_loss" } },
        ["checkpointBadMode"] = c => c with { Checkpoint = c.Checkpoint with { Mode = "down" } },
        ["checkpointNegativeMinDelta"] = c => c with { Checkpoint = c.Checkpoint with { MinDelta = -0.01 } },
        ["checkpointKeepTopKZero"] = c => c with { Checkpoint = c.Checkpoint with { KeepTopK = 0 } },
        ["checkpointKeepLastZero"] = c => c with { Checkpoint = c.Checkpoint with { KeepLast = 0 } },
        ["checkpointEveryStepsZero"] = c => c with { Checkpoint = c.Checkpoint with { EverySteps = 0 } },
        ["checkpointEveryEpochsNegative"] = c => c with { Checkpoint = c.Checkpoint with { EveryEpochs = -1 } },
        ["checkpointEveryMinutesZero"] = c => c with { Checkpoint = c.Checkpoint with { EveryMinutes = 0 } },
        ["checkpointMaxBytesZero"] = c => c with { Checkpoint = c.Checkpoint with { MaxBytes = 0 } },
        ["checkpointBadTemplate"] = c => c with { Checkpoint = c.Checkpoint with { FileNameTemplate = "epoch{epoch:x}" } },
        ["checkpointUnbalancedTemplate"] = c => c with { Checkpoint = c.Checkpoint with { FileNameTemplate = "epoch{epoch" } },
        ["earlyStoppingMonitorNotLogged"] = c => c with { EarlyStopping = c.EarlyStopping! with { Monitor = "bogus" } },
        ["earlyStoppingBadMode"] = c => c with { EarlyStopping = c.EarlyStopping! with { Mode = "sideways" } },
        ["earlyStoppingPatienceZero"] = c => c with { EarlyStopping = c.EarlyStopping! with { Patience = 0 } },
        ["earlyStoppingNegativeMinDelta"] = c => c with { EarlyStopping = c.EarlyStopping! with { MinDelta = -1 } },
        ["plateauMonitorNotLogged"] = c => c with { Schedule = c.Schedule! with { Monitor = "bogus" } },
        ["plateauBadMode"] = c => c with { Schedule = c.Schedule! with { Mode = "up" } },
        ["scheduleUnknownType"] = c => c with { Schedule = c.Schedule! with { Type = "exponential" } },
        ["scheduleGammaZero"] = c => c with { Schedule = c.Schedule! with { Gamma = 0 } },
        ["scheduleGammaAboveOne"] = c => c with { Schedule = c.Schedule! with { Gamma = 1.5 } },
        ["scheduleFactorOne"] = c => c with { Schedule = c.Schedule! with { Factor = 1 } },
        ["scheduleStepEpochsZero"] = c => c with { Schedule = c.Schedule! with { StepEpochs = 0 } },
        ["scheduleNegativeCooldown"] = c => c with { Schedule = c.Schedule! with { Cooldown = -1 } },
    };

    [Fact]
    public void Validate_DefaultPoliciesOnSpirals_HasNoErrors()
    {
        Assert.Empty(PolicyTraining.Validator().Validate(Valid));
    }

    [Theory]
    [InlineData("checkpointMonitorNotLogged", "checkpoint.monitor")]
    [InlineData("checkpointBadMode", "checkpoint.mode")]
    [InlineData("checkpointNegativeMinDelta", "checkpoint.minDelta")]
    [InlineData("checkpointKeepTopKZero", "checkpoint.keepTopK")]
    [InlineData("checkpointKeepLastZero", "checkpoint.keepLast")]
    [InlineData("checkpointEveryStepsZero", "checkpoint.everySteps")]
    [InlineData("checkpointEveryEpochsNegative", "checkpoint.everyEpochs")]
    [InlineData("checkpointEveryMinutesZero", "checkpoint.everyMinutes")]
    [InlineData("checkpointMaxBytesZero", "checkpoint.maxBytes")]
    [InlineData("checkpointBadTemplate", "checkpoint.fileNameTemplate")]
    [InlineData("checkpointUnbalancedTemplate", "checkpoint.fileNameTemplate")]
    [InlineData("earlyStoppingMonitorNotLogged", "earlyStopping.monitor")]
    [InlineData("earlyStoppingBadMode", "earlyStopping.mode")]
    [InlineData("earlyStoppingPatienceZero", "earlyStopping.patience")]
    [InlineData("earlyStoppingNegativeMinDelta", "earlyStopping.minDelta")]
    [InlineData("plateauMonitorNotLogged", "schedule.monitor")]
    [InlineData("plateauBadMode", "schedule.mode")]
    [InlineData("scheduleUnknownType", "schedule.type")]
    [InlineData("scheduleGammaZero", "schedule.gamma")]
    [InlineData("scheduleGammaAboveOne", "schedule.gamma")]
    [InlineData("scheduleFactorOne", "schedule.factor")]
    [InlineData("scheduleStepEpochsZero", "schedule.stepEpochs")]
    [InlineData("scheduleNegativeCooldown", "schedule.cooldown")]
    public void Validate_BrokenPolicyField_ReportsExactlyThatKey(string breaker, string expectedKey)
    {
        var errors = PolicyTraining.Validator().Validate(Breakers[breaker](Valid));

        Assert.Equal([expectedKey], errors.Keys);
        Assert.Single(errors[expectedKey]);
    }

    [Fact]
    public void Validate_StepScheduleWithUnloggedMonitor_IgnoresTheMonitor()
    {
        var config = Valid with { Schedule = new ScheduleConfig { Type = ScheduleConfig.Step, Monitor = "bogus", Mode = "bogus" } };

        Assert.Empty(PolicyTraining.Validator().Validate(config));
    }

    [Theory]
    [InlineData("loss")]
    [InlineData("valLoss")]
    [InlineData("accuracy")]
    [InlineData("valAccuracy")]
    [InlineData("learningRate")]
    public void Validate_EveryLoggedMetricAsMonitor_IsAccepted(string monitor)
    {
        var config = Valid with
        {
            Checkpoint = new CheckpointPolicy { Monitor = monitor },
            EarlyStopping = new EarlyStoppingConfig { Monitor = monitor },
            Schedule = new ScheduleConfig { Type = ScheduleConfig.Plateau, Monitor = monitor },
        };

        Assert.Empty(PolicyTraining.Validator().Validate(config));
    }

    [Fact]
    public void Validate_SeveralBrokenPolicies_ReportsEachKey()
    {
        var config = Valid with
        {
            Checkpoint = new CheckpointPolicy { Monitor = "nope", KeepTopK = 0 },
            EarlyStopping = new EarlyStoppingConfig { Patience = 0 },
            Schedule = new ScheduleConfig { Type = ScheduleConfig.Plateau, Factor = 1 },
        };

        var errors = PolicyTraining.Validator().Validate(config);

        Assert.Equal(["checkpoint.keepTopK", "checkpoint.monitor", "earlyStopping.patience", "schedule.factor"], errors.Keys.Order(StringComparer.Ordinal));
    }
}
