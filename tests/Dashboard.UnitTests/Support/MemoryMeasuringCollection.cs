namespace Dashboard.UnitTests.Support;

/// <summary>
/// Tests that read the process's peak resident size (VmHWM) run alone, after the parallel ones: a model built or a run
/// trained by a test beside them would raise the peak they attribute to the code under test.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasuringCollection
{
    public const string Name = "Measures the process's memory";
}
