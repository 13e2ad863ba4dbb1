using System.Net.Http.Json;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Workers;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.AspNetCore.SignalR.Client;
using static Dashboard.IntegrationTests.HubRecorder;

namespace Dashboard.IntegrationTests;

/// <summary>Two web instances on one PostgreSQL and one Redis: live events, hub clients and the workers list across them.</summary>
public sealed class ScaleOutTests(ScaleOutFixture fixture) : IClassFixture<ScaleOutFixture>
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(180);

    [SkippableFact]
    public async Task Hub_RunStartedOnA_ClientsOnBothInstancesReceiveEveryEpochExactlyOnce()
    {
        fixture.SkipWhenUnavailable();
        await using var onB = await ConnectAsync(fixture.B);
        await using var onA = await ConnectAsync(fixture.A);
        await onB.Connection.InvokeAsync("JoinAll");
        await onA.Connection.InvokeAsync("JoinAll");

        var run = await fixture.A.CreateRunAsync(RunBodies.Spirals(epochs: 4, name: "scale-out-hub"));
        await onB.WaitForFinalStatusAsync(run.Id, RunTimeout);
        await onA.WaitForFinalStatusAsync(run.Id, RunTimeout);

        // A round trip is a barrier: a duplicate sent before its answer has arrived by then.
        await onB.Connection.InvokeAsync("LeaveAll");
        await onA.Connection.InvokeAsync("LeaveAll");
        var stored = await fixture.B.GetMetricsAsync(run.Id);
        Assert.Equal([1, 2, 3, 4], stored.Select(m => m.Epoch));
        foreach (var (hub, instance) in new[] { (onB, "B"), (onA, "A") })
        {
            var events = hub.EventsOf(run.Id);
            // Times compared to the microsecond: PostgreSQL keeps no finer, the event carries the clock's ticks.
            Assert.True(
                stored.Select(Key).SequenceEqual(events.Where(e => e.Name == EpochCompleted).Select(e => Key((MetricDto)e.Payload))),
                $"The client on {instance} did not get each epoch exactly once: {string.Join(", ", events.Where(e => e.Name == EpochCompleted))}");
            Assert.Equal(["queued", "running", "completed"], events.Where(e => e.Name == RunStatusChanged).Select(e => (string)e.Payload));
            Assert.Equal([1, 2, 3, 4], events.Where(e => e.Name == CheckpointSaved).Select(e => ((CheckpointDto)e.Payload).Epoch));
        }
    }

    private static (int, long, double, double, long?) Key(MetricDto m) => (m.Epoch, m.Step, m.Loss, m.ValLoss, m.CreatedAt?.Ticks / 10);

    [SkippableFact]
    public async Task Workers_RunTrainingOnA_BothInstancesListedAliveAndTheRunNamesA()
    {
        fixture.SkipWhenUnavailable();
        var run = await fixture.A.CreateRunAsync(RunBodies.SlotHolder("scale-out-workers"));
        try
        {
            await fixture.B.WaitForRunStatusAsync(run.Id, "running", RunTimeout);
            var workers = await Poll.UntilAsync(
                ct => fixture.B.Client.GetFromJsonAsync<List<WorkerDto>>("api/workers", DashboardServer.Json, ct),
                list => list?.Any(w => w.Name == ScaleOutFixture.WorkerA && w.Runs.Contains(run.Id)) == true,
                TimeSpan.FromSeconds(30),
                $"web-a listing run {run.Id}");

            Assert.Equal([ScaleOutFixture.WorkerA, ScaleOutFixture.WorkerB], workers!.Select(w => w.Name).Order());
            Assert.All(workers!, w =>
            {
                Assert.True(w.Alive, $"{w.Name} is not alive");
                Assert.InRange(DateTime.UtcNow - w.LastHeartbeat, TimeSpan.FromSeconds(-5), TimeSpan.FromSeconds(30));
                Assert.Equal("cpu", w.Device);
                Assert.Equal(1, w.TorchThreads);
                Assert.Equal(["default"], w.Queues);
                Assert.Contains("mnist", w.Datasets);
                Assert.Contains("mlp", w.Models);
            });
            Assert.Empty(workers!.Single(w => w.Name == ScaleOutFixture.WorkerB).Runs);
            Assert.Equal(ScaleOutFixture.WorkerA, (await fixture.B.GetRunAsync(run.Id)).Worker);
        }
        finally
        {
            await fixture.A.StopRunAsync(run.Id);
            await fixture.B.WaitForRunAsync(run.Id, r => !r.IsActive, "the slot holder to stop", RunTimeout);
        }
    }

    [SkippableFact]
    public async Task Redis_RestartedMidRun_RunCompletesWithEveryMetricAndLaterEpochsReachB()
    {
        fixture.SkipWhenUnavailable();
        const int epochs = 30;
        await using var onB = await ConnectAsync(fixture.B);
        await onB.Connection.InvokeAsync("JoinAll");
        var run = await fixture.A.CreateRunAsync(RunBodies.LongCnn(epochs, "scale-out-redis-restart"));
        var before = await onB.WaitForAsync(run.Id, e => e.Any(x => x.Name == EpochCompleted), RunTimeout, "a first epoch on B");

        await fixture.Redis.RestartAsync(TimeSpan.FromSeconds(1));
        var restartedAt = (await fixture.B.GetRunAsync(run.Id)).CurrentEpoch;

        var done = await fixture.B.WaitForRunAsync(run.Id, r => !r.IsActive, "the run to end", RunTimeout);
        Assert.Equal("completed", done.Status);
        Assert.Equal(Enumerable.Range(1, epochs), (await fixture.B.GetMetricsAsync(run.Id)).Select(m => m.Epoch));

        // Events raised while Redis was down are lost to B (its pages reload from the database); later ones arrive, once each.
        var after = await onB.WaitForFinalStatusAsync(run.Id, RunTimeout);
        var seen = after.Where(e => e.Name == EpochCompleted).Select(e => ((MetricDto)e.Payload).Epoch).ToList();
        Assert.Equal(seen.Distinct(), seen);
        Assert.Contains(seen, epoch => epoch > restartedAt);
        Assert.NotEmpty(before);
    }
}
