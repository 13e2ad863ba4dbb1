using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.IntegrationTests;

/// <summary><c>GET /api/runs/{id}/log</c> and the hub's <c>RunLog</c> on a real server process that trains real runs.</summary>
public sealed class RunLogApiTests : IAsyncLifetime
{
    private static readonly TimeSpan LineTimeout = TimeSpan.FromSeconds(60);

    private DashboardServer _server = null!;

    public async Task InitializeAsync() => _server = await DashboardServer.StartAsync(new Dictionary<string, string>
    {
        ["Training:MaxConcurrentRuns"] = "1",
        ["Training:Device"] = "cpu",
        ["Training:TorchThreads"] = "1",
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task GetLog_RunCompletesThenAStoredRunFails_LinesInOrderWithTheFullErrorAndBothSurviveARestart()
    {
        var run = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 2, name: "logged-run"));
        await _server.WaitForRunStatusAsync(run.Id, "completed");
        var lines = await PollLogAsync(run.Id, l => l.Any(x => x.Message.StartsWith("Completed", StringComparison.Ordinal)));

        var messages = lines.Select(l => l.Message).ToList();
        int Index(string start) => messages.FindIndex(m => m.StartsWith(start, StringComparison.Ordinal));
        Assert.Equal(0, Index("Queued to train from scratch."));
        Assert.True(Index("Started on cpu with 1 torch thread(s)") > 0, string.Join("\n", messages));
        Assert.True(Index("Wrote last checkpoint #") > Index("Started on cpu"), string.Join("\n", messages));
        Assert.True(Index("Completed all 2 epochs.") > Index("Wrote last checkpoint #"), string.Join("\n", messages));
        Assert.All(lines, l => Assert.Equal(DateTimeKind.Utc, l.Time.Kind));
        Assert.Equal(lines.Select(l => l.Id).Order(), lines.Select(l => l.Id));

        // JSON lines: the same lines, one object a line.
        using var jsonl = await _server.Client.GetAsync($"/api/runs/{run.Id}/log?format=jsonl");
        Assert.Equal("application/x-ndjson", jsonl.Content.Headers.ContentType?.MediaType);
        var body = await jsonl.Content.ReadAsStringAsync();
        Assert.Equal(lines, body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonSerializer.Deserialize<RunLogLineDto>(l, DashboardServer.Json)!));

        // A run that fails as it starts: its configuration cannot be read. Stored while the server is down, trained once it is back.
        await _server.StopAsync();
        int failing;
        await using (var db = new DashboardDbContext(new DbContextOptionsBuilder<DashboardDbContext>().UseSqlite(SqliteSetup.ConnectionString(_server.DatabasePath)).Options))
        {
            var row = new Run { Name = "unreadable", Status = RunStatus.Queued, Dataset = "spirals", Model = "mlp", Epochs = 1, ConfigJson = "null", CreatedAt = DateTime.UtcNow };
            db.Runs.Add(row);
            await db.SaveChangesAsync();
            failing = row.Id;
        }

        await _server.RestartAsync();
        Assert.Equal(lines, await GetLogAsync(run.Id));
        await _server.WaitForRunStatusAsync(failing, "failed");
        var failed = await PollLogAsync(failing, l => l.Any(x => x.Level == "error"));
        var error = Assert.Single(failed, l => l.Level == "error");
        Assert.StartsWith($"Failed: Run {failing} has no configuration.", error.Message, StringComparison.Ordinal);
        Assert.Contains("System.InvalidOperationException", error.Message, StringComparison.Ordinal);
        Assert.Contains(" at Dashboard.Runs.Execution.RunExecutor", error.Message, StringComparison.Ordinal);
        Assert.Equal([error], await GetLogAsync(failing, "?level=error"));
        Assert.Equal(failed.Skip(1), await GetLogAsync(failing, $"?after={failed[0].Id}"));

        Assert.Equal(204, (int)(await _server.Client.DeleteAsync($"/api/runs/{run.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Client.GetAsync($"/api/runs/{run.Id}/log")).StatusCode);
        Assert.Equal(0, await _server.ReadDatabaseAsync(db => db.RunLogEntries.CountAsync(l => l.RunId == run.Id)));
    }

    [Theory]
    [InlineData("?after=abc", "after")]
    [InlineData("?after=-1", "after")]
    [InlineData("?level=debug", "level")]
    [InlineData("?format=xml", "format")]
    public async Task GetLog_BadParameter_Answers400NamingIt(string query, string field)
    {
        var run = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 1, name: "bad-query"));

        using var response = await _server.Client.GetAsync($"/api/runs/{run.Id}/log{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task GetLog_UnknownRun_Answers404()
    {
        using var response = await _server.Client.GetAsync("/api/runs/987654/log");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task JoinRun_RunStarts_HubSendsItsLogLinesAsStored()
    {
        await using var hub = new HubConnectionBuilder().WithUrl(new Uri(_server.BaseAddress, "hubs/training")).Build();
        var heard = new List<(int RunId, RunLogLineDto Line)>();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        hub.On<int, RunLogLineDto>("RunLog", (runId, line) =>
        {
            lock (heard)
            {
                heard.Add((runId, line));
            }

            if (line.Message.StartsWith("Started on", StringComparison.Ordinal))
            {
                started.TrySetResult();
            }
        });
        await hub.StartAsync();
        await hub.InvokeAsync("JoinAll");

        var run = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 1, name: "hub-log"));
        await started.Task.WaitAsync(LineTimeout);

        var stored = await GetLogAsync(run.Id);
        lock (heard)
        {
            Assert.All(heard, h => Assert.Equal(run.Id, h.RunId));
            Assert.All(heard, h => Assert.Contains(h.Line, stored));
            Assert.Contains(heard, h => h.Line.Message == "Queued to train from scratch.");
        }
    }

    private async Task<List<RunLogLineDto>> GetLogAsync(int runId, string query = "")
    {
        using var response = await _server.Client.GetAsync($"/api/runs/{runId}/log{query}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<List<RunLogLineDto>>(DashboardServer.Json))!;
    }

    /// <summary>Lines are stored a moment after they happen: asks until <paramref name="done"/> holds.</summary>
    private Task<List<RunLogLineDto>> PollLogAsync(int runId, Func<List<RunLogLineDto>, bool> done) =>
        Poll.UntilAsync(_ => GetLogAsync(runId), done, LineTimeout, $"run {runId}'s log to have the expected lines");
}
