using System.Net;
using System.Net.Http.Json;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.AspNetCore.SignalR.Client;
using static Dashboard.IntegrationTests.HubRecorder;

namespace Dashboard.IntegrationTests;

/// <summary>The hub tells external clients when a run is changed (PATCH) or deleted, both those following it and those following all.</summary>
public sealed class HubRunChangesTests(DashboardServerFixture fixture) : IClassFixture<DashboardServerFixture>
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(15);

    private readonly DashboardServer _server = fixture.Server;

    [Fact]
    public async Task PatchThenDelete_FollowersOfTheRunAndOfAll_ReceiveRunUpdatedThenRunDeleted()
    {
        var run = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 1, name: "hub-changes"));
        await _server.WaitForRunStatusAsync(run.Id, "completed");
        await using var follower = await ConnectAsync(_server);
        await using var all = await ConnectAsync(_server);
        await follower.Connection.InvokeAsync("JoinRun", run.Id);
        await all.Connection.InvokeAsync("JoinAll");

        using (var patched = await _server.Client.PatchAsJsonAsync($"api/runs/{run.Id}", new { name = "hub-changes renamed", archived = true }))
        {
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        }

        using (var deleted = await _server.Client.DeleteAsync($"api/runs/{run.Id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        foreach (var hub in new[] { follower, all })
        {
            var events = await hub.WaitForAsync(run.Id, e => e.Any(x => x.Name == RunDeleted), EventTimeout, $"RunDeleted of run {run.Id}");
            var changes = events.Where(e => e.Name is RunUpdated or RunDeleted).ToList();
            Assert.Equal([RunUpdated, RunDeleted], changes.Select(e => e.Name));
            var updated = (RunDto)changes[0].Payload;
            Assert.Equal(("hub-changes renamed", true), (updated.Name, updated.Archived));
            Assert.Equal(run.Id, changes[1].Payload);
        }
    }
}
