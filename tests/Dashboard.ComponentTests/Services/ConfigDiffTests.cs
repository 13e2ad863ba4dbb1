using Dashboard.Engine.Configuration;
using Dashboard.Engine.Policies;
using Dashboard.Runs.Contracts;

namespace Dashboard.ComponentTests.Services;

/// <summary>The config differ behind "Changes from parent" and <c>GET /api/runs/{id}/config-diff</c>.</summary>
public sealed class ConfigDiffTests
{
    private static readonly TrainingConfig Parent = new() { Dataset = "spirals", Model = "mlp", Epochs = 5, LearningRate = 0.01 };

    [Fact]
    public void Between_SameConfig_NoChanges()
    {
        Assert.Empty(ConfigDiff.Between(Parent, Parent with { }));
    }

    [Fact]
    public void Between_ChangedNestedAndAddedSettings_FlattenedPathsWithBothValues()
    {
        var child = Parent with
        {
            Epochs = 8,
            Schedule = new ScheduleConfig { Type = ScheduleConfig.Step, StepEpochs = 3 },
            ClassFilter = [0, 1],
            Checkpoint = Parent.Checkpoint with { EverySteps = 20 },
        };

        var changes = ConfigDiff.Between(Parent, child).ToDictionary(c => c.Path, c => (c.Parent, c.Child));

        Assert.Equal(("5", "8"), changes["epochs"]);
        Assert.Equal((null, "step"), changes["schedule.type"]);
        Assert.Equal((null, "3"), changes["schedule.stepEpochs"]);
        Assert.Equal((null, "[0,1]"), changes["classFilter"]);
        Assert.Equal((null, "20"), changes["checkpoint.everySteps"]);
        Assert.DoesNotContain("dataset", changes.Keys);
        Assert.Equal(changes.Keys.Order(StringComparer.Ordinal), changes.Keys);
    }

    [Fact]
    public void Between_NoParent_EverySettingOfTheChildWithoutAParentValue()
    {
        var changes = ConfigDiff.Between(null, Parent);

        Assert.All(changes, c => Assert.Null(c.Parent));
        Assert.Contains(changes, c => c.Path == "learningRate" && c.Child == "0.01");
    }
}
