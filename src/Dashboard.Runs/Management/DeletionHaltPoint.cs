namespace Dashboard.Runs.Management;

/// <summary>
/// A test hook for the crash tests of run deletion: with <c>DASHBOARD_TEST_HALT_RUN_DELETION</c> set to a step's name,
/// deletion logs that it reached the step and then waits for ever, so a test can SIGKILL the process at exactly that
/// point instead of hoping a timed kill lands there. Unset (always, outside those tests) it costs one string compare.
/// </summary>
internal static class DeletionHaltPoint
{
    public const string Variable = "DASHBOARD_TEST_HALT_RUN_DELETION";

    /// <summary>The run's folder has been renamed away; no row has changed yet.</summary>
    public const string FolderMovedAway = "moved";

    /// <summary>The rows are gone and committed; the renamed folder is still on disk.</summary>
    public const string RowsCommitted = "committed";

    private static readonly string? Configured = Environment.GetEnvironmentVariable(Variable);

    public static async Task ReachedAsync(string step, ILogger logger, CancellationToken cancellationToken)
    {
        if (string.Equals(Configured, step, StringComparison.Ordinal))
        {
            logger.LogWarning("Run deletion halted at {Step} ({Variable}).", step, Variable);
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }
}
