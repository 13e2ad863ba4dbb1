using System.Diagnostics;

namespace Dashboard.IntegrationTests;

/// <summary>
/// A tmpfs of a few megabytes mounted on a folder: a real volume that really runs out of space (ENOSPC), for disk-full
/// tests. Mounting needs root (or CAP_SYS_ADMIN); where that is not allowed, <see cref="TryMount"/> says why.
/// </summary>
internal sealed class SmallVolume : IDisposable
{
    private SmallVolume(string path) => Path = path;

    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="sizeBytes"/> on the existing folder <paramref name="path"/>; null when not permitted.</summary>
    public static SmallVolume? TryMount(string path, long sizeBytes, out string? refusal)
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
