using Dashboard.Engine.Configuration;

namespace Dashboard.UnitTests.Engine;

/// <summary>The freeze rule both the trainer and the fine-tune check use.</summary>
public sealed class FineTuneSettingsTests
{
    [Theory]
    [InlineData("layers.fc1.weight", "layers.fc1.weight", true)]
    [InlineData("layers.fc1", "layers.fc1.weight", true)]
    [InlineData("layers", "layers.fc1.bias", true)]
    [InlineData("layers.fc1", "layers.fc10.weight", false)]
    [InlineData("layers.fc", "layers.fc1.weight", false)]
    [InlineData("layers.fc1.weight", "layers.fc1", false)]
    [InlineData("Layers.fc1", "layers.fc1.weight", false)]
    public void Covers_EntryAndParameterName_OnlyTheParameterOrAModuleHoldingIt(string entry, string parameterName, bool covered)
    {
        Assert.Equal(covered, FineTuneSettings.Covers(entry, parameterName));
    }
}
