using Dashboard.ServerProcess;

namespace Dashboard.IntegrationTests;

/// <summary>
/// SIGKILL in the middle of <c>DELETE /api/runs/{id}</c>, at each step between the folder's rename and its removal (held
/// there by the deletion's test hook), then a restart: the run is either whole (rows, checkpoints and files) or gone
/// (no rows, no folder), never rows without files or files without rows.
/// </summary>
public sealed class RunDeletionCrashTests : IAsyncLifetime
{
    private DashboardServer _server = null!;

    public async Task InitializeAsync() => _server = await DashboardServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("moved", true)]
    [InlineData("committed", false)]
    public async Task DeleteRun_KilledAtStep_RestartLeavesRunWholeOrGone(string step, bool kept)
    {
        var deleted = await DeletionKill.KillDuringDeleteAsync(_server, step);

        if (kept)
        {
            await DeletionKill.AssertWholeAsync(_server, deleted);
        }
        else
        {
            await DeletionKill.AssertGoneAsync(_server, deleted);
        }
    }
}
