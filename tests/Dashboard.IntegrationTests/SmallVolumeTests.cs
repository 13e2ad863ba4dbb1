namespace Dashboard.IntegrationTests;

/// <summary>
/// What a disk-full test does where no tmpfs can be mounted: it is reported skipped with the reason, never passed, and
/// under CI (which runs as root) it fails. The refusal is a real one from <c>mount</c>: a mount point that does not exist.
/// </summary>
public sealed class SmallVolumeTests
{
    private static readonly string Missing = Path.Combine(Path.GetTempPath(), "dashboard-tests", $"no-such-folder-{Guid.NewGuid():N}");

    [Fact]
    public void MountOrSkip_MountRefusedOutsideCi_SkipsWithTheReason()
    {
        var skip = Assert.Throws<SkipException>(() => SmallVolume.MountOrSkip(Missing, 1024 * 1024, required: false));

        Assert.StartsWith($"No tmpfs could be mounted on {Missing} (mount exited with ", skip.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MountOrSkip_MountRefusedInCi_FailsRatherThanSkips()
    {
        var failure = Assert.Throws<InvalidOperationException>(() => SmallVolume.MountOrSkip(Missing, 1024 * 1024, required: true));

        Assert.Contains("CI=true is set", failure.Message, StringComparison.Ordinal);
    }
}
