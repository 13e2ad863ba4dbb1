namespace Dashboard.UnitTests.Support;

/// <summary>
/// Tests that build models draw from torch's process-wide generator; the trainer serialises only its own seeding, so a model
/// built by a parallel test could shift a run's initial weights and break the exact-equality checks.
/// </summary>
[CollectionDefinition(Name)]
public sealed class TorchCollection
{
    public const string Name = "Torch global generator";
}
