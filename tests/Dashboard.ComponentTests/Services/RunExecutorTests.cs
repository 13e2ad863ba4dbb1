using System.Data.Common;
using Dashboard.ComponentTests.Support;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Execution;
using Dashboard.Runs.Launching;
using Dashboard.Runs.Management;
using Dashboard.Runs.Options;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Services;

/// <summary>
/// The executor trains a real (tiny) spirals run in this process, on the test's SQLite file, and the order of what it
/// does at a run's end is watched at the database.
/// </summary>
public sealed class RunExecutorTests : DashboardTestContext
{
    [Fact]
    public async Task Execute_RunEnds_ItsSlotIsFreeBeforeItsEndingIsStoredSoAQuickResumeTrains()
    {
        var run = await Database.AddRunAsync("quick-resume", status: RunStatus.Queued, epochs: 1);
        var watch = new EndingWatch(() => Queue, run.Id);
        Services.ConfigureDbContext<DashboardDbContext>(options => options.AddInterceptors(watch));
        var executor = Services.GetRequiredService<RunExecutor>();

        await executor.ExecuteAsync(run.Id, CancellationToken.None);

        // Once the row says completed, a resume may queue the run and a free slot dequeue it at once: were it still
        // active then, that job would be dropped and the run left queued for good.
        Assert.Equal([false], watch.ActiveWhenEndingStored);
        var newest = (await Services.GetRequiredService<RunService>().CheckpointsAsync(run.Id))![^1];
        var resumed = await Services.GetRequiredService<RunLauncher>().ResumeAsync(newest.Id, new ResumeRequest(2));
        Assert.Equal(202, resumed.Status);
        Assert.True(Queue.Reader.TryRead(out var dequeued));
        await executor.ExecuteAsync(dequeued, CancellationToken.None);
        var ended = await Services.GetRequiredService<RunService>().GetAsync(run.Id);
        Assert.Equal(RunStatus.Completed, ended!.Status);
        Assert.Equal(2, ended.CurrentEpoch);
    }

    [Fact]
    public async Task Execute_RunLogSlowToStore_TheFinalStatusIsStillTheRunsLastEvent()
    {
        // Log lines are stored in batches beside the run; slowed down here, a run that did not wait for them would
        // announce its ending before its last line ("Completed all 1 epochs.").
        var run = await Database.AddRunAsync("last-event", status: RunStatus.Queued, epochs: 1);
        Services.ConfigureDbContext<DashboardDbContext>(options => options.AddInterceptors(new SlowTransactions()));
        using var heard = new HeardEvents(Broadcaster);

        await Services.GetRequiredService<RunExecutor>().ExecuteAsync(run.Id, CancellationToken.None);

        var ofRun = (await heard.UpToNowAsync()).Where(e => e.RunId == run.Id).ToList();
        Assert.True(ofRun[^1] == new RunStatusChangedEvent(run.Id, RunStatus.Completed), $"The run's events: {string.Join(", ", ofRun)}");
        Assert.Contains(ofRun, e => e is RunLogEvent { Line.Message: "Completed all 1 epochs." });
    }

    [Fact]
    public async Task Execute_QueuedRun_TheRunNamesTheWorkerThatClaimedIt()
    {
        Services.Configure<WorkerOptions>(o => o.Name = "worker-7");
        var run = await Database.AddRunAsync("claimed", status: RunStatus.Queued, epochs: 1);

        await Services.GetRequiredService<RunExecutor>().ExecuteAsync(run.Id, CancellationToken.None);

        var ended = await Services.GetRequiredService<RunService>().GetAsync(run.Id);
        Assert.Equal((RunStatus.Completed, "worker-7"), (ended!.Status, ended.Worker));
    }

    [Theory]
    [InlineData("null", "has no configuration")]
    [InlineData("{\"dataset\":\"spir", "Path: $.dataset")]
    public async Task Execute_RowWithoutAReadableConfig_FailsTheRunSayingWhy(string stored, string reason)
    {
        // The executor never guesses a config (unlike the run list, which shows a null config as the defaults): a run
        // that trained on defaults would overwrite nothing, but its metrics would belong to another experiment.
        var run = await Database.AddRunAsync("damaged", status: RunStatus.Queued, epochs: 1, configure: r => r.ConfigJson = stored);

        await Services.GetRequiredService<RunExecutor>().ExecuteAsync(run.Id, CancellationToken.None);

        // The row itself, not its DTO: a DTO reads the config too, and this one does not read.
        await using var db = Database.CreateContext();
        var ended = await db.Runs.SingleAsync(r => r.Id == run.Id);
        Assert.Equal(RunStatus.Failed, ended.Status);
        Assert.Contains(reason, ended.Error, StringComparison.Ordinal);
        Assert.Equal((0, stored), (ended.CurrentEpoch, ended.ConfigJson));
    }

    [Fact]
    public void TryActivate_RunAlreadyHoldingASlot_ReturnsNullInsteadOfThrowing()
    {
        using var first = Queue.TryActivate(7);

        Assert.NotNull(first);
        Assert.Null(Queue.TryActivate(7));
        Queue.Deactivate(7, first!);
        using var again = Queue.TryActivate(7);
        Assert.NotNull(again);
    }

    /// <summary>
    /// Holds back the start of each explicit transaction (the run log's batches, the run's rows), before SQLite's lock is
    /// taken: a held lock would make the run's ending wait for the log anyway. The ending itself is a single update.
    /// </summary>
    private sealed class SlowTransactions : DbTransactionInterceptor
    {
        public override async ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(
            DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default)
        {
            await Task.Delay(300, cancellationToken);
            return result;
        }
    }

    /// <summary>
    /// Notes, as the run's final status is written, whether the run still holds a training slot. The queue is resolved
    /// late: the services cannot be touched before the interceptor is registered.
    /// </summary>
    private sealed class EndingWatch(Func<RunQueue> queue, int runId) : DbCommandInterceptor
    {
        private readonly List<bool> _active = [];

        public IReadOnlyList<bool> ActiveWhenEndingStored
        {
            get
            {
                lock (_active)
                {
                    return [.. _active];
                }
            }
        }

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
            DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            Note(command);
            return ValueTask.FromResult(result);
        }

        public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
            DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
        {
            Note(command);
            return ValueTask.FromResult(result);
        }

        private void Note(DbCommand command)
        {
            if (command.CommandText.Contains("UPDATE \"Runs\"", StringComparison.Ordinal)
                && command.Parameters.Cast<DbParameter>().Any(p => p.Value is RunStatus.Completed))
            {
                lock (_active)
                {
                    _active.Add(queue().IsActive(runId));
                }
            }
        }
    }
}
