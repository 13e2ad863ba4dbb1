using Dashboard.ComponentTests.Support;
using Dashboard.Data.Entities;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Execution;
using Dashboard.Runs.Logging;
using Dashboard.Runs.Management;
using Dashboard.Runs.Options;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Services;

/// <summary>The run log on the test's SQLite file: its caps, what a real (tiny) run writes to it, and its deletion.</summary>
public sealed class RunLogTests : DashboardTestContext
{
    private RunLog Log => Services.GetRequiredService<RunLog>();

    [Fact]
    public async Task Add_PastTheLineCap_KeepsTheCapPlusOneLineSayingTheRestAreDropped()
    {
        Services.Configure<RunLogOptions>(o => o.MaxLinesPerRun = 10);
        var run = await Database.AddRunAsync("chatty");

        for (var i = 0; i < 25; i++)
        {
            Log.Warning(run.Id, $"warning {i}");
        }

        await Log.FlushAsync();
        Log.Warning(run.Id, "one more, in a later batch");
        await Log.FlushAsync();

        var lines = await ReadAllAsync(run.Id);
        Assert.Equal(11, lines.Count);
        Assert.Equal([.. Enumerable.Range(0, 10).Select(i => $"warning {i}")], lines.Take(10).Select(l => l.Message));
        Assert.Equal(RunLogWriter.CapReached(10), lines[^1].Message);
    }

    [Fact]
    public async Task Add_MessageOverTheLengthCap_IsCutAndSaysHowMuch()
    {
        Services.Configure<RunLogOptions>(o => o.MaxMessageChars = 256);
        var run = await Database.AddRunAsync("long");

        Log.Error(run.Id, new string('x', 1000));
        await Log.FlushAsync();

        var line = Assert.Single(await ReadAllAsync(run.Id));
        Assert.Equal(new string('x', 256) + "… [744 more characters cut]", line.Message);
        Assert.True(line.IsError);
    }

    [Fact]
    public async Task Execute_RunCompletes_LogsStartedCheckpointsAndCompletedInOrder()
    {
        var run = await Database.AddRunAsync("logged", status: RunStatus.Queued, epochs: 2);

        await Services.GetRequiredService<RunExecutor>().ExecuteAsync(run.Id, CancellationToken.None);
        await Log.FlushAsync();

        var messages = (await ReadAllAsync(run.Id)).Select(l => l.Message).ToList();
        var started = messages.FindIndex(m => m.StartsWith("Started on cpu with ", StringComparison.Ordinal) && m.Contains(Environment.MachineName, StringComparison.Ordinal));
        var checkpoint = messages.FindIndex(m => m.StartsWith("Wrote last checkpoint #", StringComparison.Ordinal) && m.Contains("at epoch 2", StringComparison.Ordinal));
        var completed = messages.FindIndex(m => m == "Completed all 2 epochs.");
        Assert.True(started >= 0 && checkpoint > started && completed > checkpoint, string.Join(Environment.NewLine, messages));
    }

    [Fact]
    public async Task Execute_RunCompletes_LogsItsPersistenceCostPerEpochPartByPart()
    {
        var run = await Database.AddRunAsync("timed", status: RunStatus.Queued, epochs: 2);

        await Services.GetRequiredService<RunExecutor>().ExecuteAsync(run.Id, CancellationToken.None);
        await Log.FlushAsync();

        var messages = (await ReadAllAsync(run.Id)).Select(l => l.Message).ToList();
        var line = Assert.Single(messages, m => m.StartsWith("Persistence per epoch, mean of 2 epoch(s)", StringComparison.Ordinal));
        foreach (var part in new[] { "checkpointWait", "epochWait", "handOff", "stepWrites", "epochRows", "checkpointRows", "checkpointFiles", "retention" })
        {
            Assert.Matches($@" {part}=\d+\.\d/\d+\.\d", line);
        }

        // Two checkpoints were written with fsyncs: their files cannot have taken no time at all.
        Assert.DoesNotMatch(" checkpointFiles=0\\.0/0\\.0", line);
    }

    [Fact]
    public async Task Execute_RunFails_LogsAnErrorWithTheExceptionTypeMessageAndStackTrace()
    {
        var run = await Database.AddRunAsync("broken", status: RunStatus.Queued, epochs: 1, configure: r => r.ConfigJson = "null");

        await Services.GetRequiredService<RunExecutor>().ExecuteAsync(run.Id, CancellationToken.None);
        await Log.FlushAsync();

        var error = Assert.Single(await ReadAllAsync(run.Id), l => l.IsError);
        Assert.StartsWith($"Failed: Run {run.Id} has no configuration.", error.Message, StringComparison.Ordinal);
        Assert.Contains("System.InvalidOperationException", error.Message, StringComparison.Ordinal);
        Assert.Contains(" at Dashboard.Runs.Execution.RunExecutor", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_RunWithALog_RemovesItsLinesAndLinesQueuedAfterwardsAreSkippedWithoutLosingOthers()
    {
        var doomed = await Database.AddRunAsync("doomed");
        var kept = await Database.AddRunAsync("kept");
        Log.Info(doomed.Id, "before deletion");
        await Log.FlushAsync();

        var deleted = await Services.GetRequiredService<RunDeletion>().DeleteAsync(doomed.Id, force: true);
        Assert.Equal(204, deleted.Status);
        Log.Info(doomed.Id, "after deletion");
        Log.Info(kept.Id, "same batch, other run");
        await Log.FlushAsync();

        await using var db = Database.CreateContext();
        Assert.False(await db.RunLogEntries.AnyAsync(l => l.RunId == doomed.Id));
        Assert.Equal(["same batch, other run"], (await ReadAllAsync(kept.Id)).Select(l => l.Message));
    }

    [Fact]
    public async Task Read_AfterAndLevel_ReturnLaterLinesOfAtLeastThatLevel()
    {
        var run = await Database.AddRunAsync("filtered");
        Log.Info(run.Id, "one");
        Log.Warning(run.Id, "two");
        Log.Error(run.Id, "three");
        Log.Info(run.Id, "four");
        await Log.FlushAsync();
        var all = await ReadAllAsync(run.Id);

        var warnings = await ReadAllAsync(run.Id, new RunLogQuery(MinLevel: RunLogLevel.Warning));
        var later = await ReadAllAsync(run.Id, new RunLogQuery(After: all[1].Id));

        Assert.Equal(["two", "three"], warnings.Select(l => l.Message));
        Assert.Equal(["three", "four"], later.Select(l => l.Message));
    }

    private async Task<List<RunLogLineDto>> ReadAllAsync(int runId, RunLogQuery? query = null)
    {
        var lines = new List<RunLogLineDto>();
        await foreach (var line in Log.ReadAsync(runId, query ?? new RunLogQuery()))
        {
            lines.Add(line);
        }

        return lines;
    }
}
