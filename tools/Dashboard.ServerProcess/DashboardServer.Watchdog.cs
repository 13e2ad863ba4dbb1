using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Dashboard.ServerProcess;

/// <summary>Signals and the watchdog: what keeps a child process from outliving the process that started it.</summary>
public sealed partial class DashboardServer
{
    /// <summary>
    /// A shell that SIGKILLs the app once its stdin closes. The test host holds the other end of that pipe, so if the test
    /// host itself dies (crash, hang timeout) the kernel closes it and the app goes too instead of lingering on its port.
    /// </summary>
    private void StartWatchdog(int pid)
    {
        StopWatchdog();
        _watchdog = Guard(pid);
    }

    /// <summary>Starts a watchdog for any child process <paramref name="pid"/> (the workers' too).</summary>
    internal static Process? Guard(int pid)
    {
        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("while read -r _line; do :; done; kill -KILL \"$1\" 2>/dev/null");
        start.ArgumentList.Add("dashboard-watchdog");
        start.ArgumentList.Add(pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Process.Start(start);
    }

    /// <summary>Ends the watchdog by its own id before its stdin closes, so it never signals a pid that may have been reused.</summary>
    private void StopWatchdog()
    {
        var watchdog = _watchdog;
        _watchdog = null;
        Release(watchdog);
    }

    /// <summary>Ends a watchdog of <see cref="Guard"/>.</summary>
    internal static void Release(Process? watchdog)
    {
        if (watchdog is null)
        {
            return;
        }

        try
        {
            if (!watchdog.HasExited)
            {
                watchdog.Kill();
                watchdog.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            watchdog.Dispose();
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int signal);
}
