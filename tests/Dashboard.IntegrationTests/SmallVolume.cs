using System.Diagnostics;

namespace Dashboard.IntegrationTests;

/// <summary>
/// A tmpfs of a few megabytes mounted on a folder: a real volume that really runs out of space (ENOSPC), for disk-full
/// tests. Mounting needs root (or CAP_SYS_ADMIN); where that is not allowed, <see cref="MountOrSkip(string, long)"/> skips
/// the test with the reason, or fails it under CI, which runs as root.
/// </summary>
internal sealed class SmallVolume : IDisposable
{
    private SmallVolume(string path) => Path = path;

    public string Path { get; }

    /// <summary>True when the environment says it is CI (<c>CI=true</c>, as CI services set it).</summary>
    public static bool InContinuousIntegration =>
        Environment.GetEnvironmentVariable("CI") is { } value
        && (value.Equals("true", StringComparison.OrdinalIgnoreCase) || value == "1");

    /// <summary>
    /// Mounts a tmpfs of <paramref name="sizeBytes"/> on the existing folder <paramref name="path"/>, or ends the test:
    /// skipped with the reason where mounting is not allowed, failed under CI. A test that could not run must never be
    /// reported as passed; and CI runs as root, so there a refusal means a broken machine that someone has to see.
    /// Tests calling this are <c>[SkippableFact]</c> or <c>[SkippableTheory]</c>, else the skip reads as a failure.
    /// </summary>
    public static SmallVolume MountOrSkip(string path, long sizeBytes) => MountOrSkip(path, sizeBytes, InContinuousIntegration);

    /// <summary><see cref="MountOrSkip(string, long)"/> with the CI decision passed in, so both answers can be tested.</summary>
    internal static SmallVolume MountOrSkip(string path, long sizeBytes, bool required)
    {
        if (TryMount(path, sizeBytes, out var refusal) is { } volume)
        {
            return volume;
        }

        var reason = $"No tmpfs could be mounted on {path} ({refusal}); mounting needs root or CAP_SYS_ADMIN.";
        if (required)
        {
            throw new InvalidOperationException($"{reason} CI=true is set, and CI runs as root, so this test must run here: the machine is misconfigured.");
        }

        throw new SkipException(reason);
    }

    /// <summary>Mounts a tmpfs of <paramref name="sizeBytes"/> on the existing folder <paramref name="path"/>; null when not permitted.</summary>
    private static SmallVolume? TryMount(string path, long sizeBytes, out string? refusal)
    {
        var (exitCode, output) = Run("mount", "-t", "tmpfs", "-o", $"size={sizeBytes / 1024}k,mode=0700", "tmpfs", path);
        refusal = exitCode == 0 ? null : $"mount exited with {exitCode}: {output.Trim()}";
        return exitCode == 0 ? new SmallVolume(path) : null;
    }

    public void Dispose()
    {
        // A process that just died may still hold a file open for a moment; a lazy unmount detaches it regardless.
        if (Run("umount", Path).ExitCode != 0)
        {
            Run("umount", "-l", Path);
        }
    }

    private static (int ExitCode, string Output) Run(string command, params string[] arguments)
    {
        var start = new ProcessStartInfo(command)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output.Result + error);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message); // no mount command at all
        }
    }
}
