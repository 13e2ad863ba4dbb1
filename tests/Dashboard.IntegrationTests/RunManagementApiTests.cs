using System.Net;
using System.Net.Http.Json;
using System.Text;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary><c>PATCH /api/runs/{id}</c> and the run list's filters, against the real server and its database.</summary>
public sealed class RunManagementApiTests(DashboardServerFixture fixture) : RunManagementApiSuite<DashboardServerFixture>(fixture);

/// <summary>The tests of <see cref="RunManagementApiTests"/> with the server's database on PostgreSQL.</summary>
public sealed class RunManagementApiPostgresTests(PostgresServerFixture fixture) : RunManagementApiSuite<PostgresServerFixture>(fixture);

/// <summary>The tests of <see cref="RunManagementApiTests"/>, run once per storage provider by the classes above.</summary>
public abstract class RunManagementApiSuite<TFixture> : IClassFixture<TFixture>
    where TFixture : DashboardServerFixture
{
    private readonly DashboardServer _server;

    protected RunManagementApiSuite(TFixture fixture)
    {
        fixture.SkipWhenUnavailable();
        _server = fixture.Server;
    }

    /// <summary>(body, the one field its error must be keyed by).</summary>
    public static TheoryData<string, string> InvalidBodies { get; } = new()
    {
        { """{ "name": "" }""", "name" },
        { """{ "name": "   " }""", "name" },
        { $$"""{ "name": "{{new string('n', 101)}}" }""", "name" },
        { """{ "name": 5 }""", "name" },
        { $$"""{ "tags": [{{string.Join(", ", Enumerable.Range(0, 21).Select(i => $"\"t{i}\""))}}] }""", "tags" },
        { """{ "tags": [""] }""", "tags" },
        { $$"""{ "tags": ["{{new string('t', 33)}}"] }""", "tags" },
        { """{ "tags": ["has space"] }""", "tags" },
        { """{ "tags": ["quote\""] }""", "tags" },
        { """{ "tags": ["ünïcode"] }""", "tags" },
        { """{ "tags": ["a", "a"] }""", "tags" },
        { """{ "tags": [null] }""", "tags" },
        { """{ "tags": "a" }""", "tags" },
        { $$"""{ "notes": "{{new string('x', 20_001)}}" }""", "notes" },
        { """{ "archived": "yes" }""", "archived" },
        { """{ "nmae": "typo" }""", "nmae" },
        { """{ "name": "a", "name": "b" }""", "name" },
        { """[]""", "body" },
    };

    [SkippableFact]
    public async Task PatchRun_AllFields_Returns200AndTheStoredRun()
    {
        var run = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 1, name: "patch-all"));
        await _server.WaitForRunStatusAsync(run.Id, "completed");
        var notes = "line one\n<b>not bold</b>\nline three";

        using var response = await PatchAsync(run.Id, new { name = "  renamed  ", tags = new[] { "baseline", "lr-0.01", "exp:a_1" }, notes, archived = true });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answered = await response.Content.ReadFromJsonAsync<RunDto>(DashboardServer.Json);
        var stored = await _server.GetRunAsync(run.Id);
        foreach (var dto in new[] { answered!, stored })
        {
            Assert.Equal(("renamed", notes, true), (dto.Name, dto.Notes, dto.Archived));
            Assert.Equal(["baseline", "lr-0.01", "exp:a_1"], dto.Tags!);
            Assert.Equal(("completed", 1), (dto.Status, dto.CurrentEpoch));
        }
    }

    [SkippableFact]
    public async Task PatchRun_OneField_LeavesTheOthersAsTheyWere()
    {
        var run = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 1, name: "patch-one"));
        await _server.WaitForRunStatusAsync(run.Id, "completed");
        (await PatchAsync(run.Id, new { tags = new[] { "keep" }, notes = "kept" })).Dispose();

        using var response = await PatchAsync(run.Id, new { archived = true });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stored = await _server.GetRunAsync(run.Id);
        Assert.Equal(("patch-one", "kept", true), (stored.Name, stored.Notes, stored.Archived));
        Assert.Equal(["keep"], stored.Tags!);
    }

    [SkippableTheory]
    [MemberData(nameof(InvalidBodies))]
    public async Task PatchRun_InvalidBody_Returns400NamingTheFieldAndChangesNothing(string body, string field)
    {
        var run = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 1, name: "patch-invalid"));
        await _server.WaitForRunStatusAsync(run.Id, "completed");

        using var response = await _server.Client.PatchAsync($"api/runs/{run.Id}", new StringContent(body, Encoding.UTF8, "application/json"));

        await ProblemAssert.IsValidationProblemAsync(response, field);
        var stored = await _server.GetRunAsync(run.Id);
        Assert.Equal(("patch-invalid", "", false), (stored.Name, stored.Notes, stored.Archived));
        Assert.Empty(stored.Tags!);
    }

    [SkippableFact]
    public async Task PatchRun_UnknownRun_Returns404Problem()
    {
        using var response = await PatchAsync(424242, new { name = "x" });

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Contains("424242", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task PatchRun_NotJson_Returns415Problem()
    {
        using var response = await _server.Client.PatchAsync("api/runs/1", new StringContent("name=x", Encoding.UTF8, "text/plain"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
    }

    [SkippableFact]
    public async Task GetRuns_Filters_CombineWithAndAndHideArchivedUnlessAsked()
    {
        // A marker unique to this test keeps runs other tests of the class create out of the answers.
        var marker = $"flt{Guid.NewGuid():N}"[..12];
        var a = await CreateTaggedAsync($"{marker} Alpha", "x", "shared");
        var b = await CreateTaggedAsync($"{marker} beta", "y", "shared");
        var c = await CreateTaggedAsync($"{marker} ALPHA archived", "x");
        (await PatchAsync(c, new { archived = true })).Dispose();

        Assert.Equal([b, a], await IdsAsync($"q={marker}"));
        Assert.Equal([c, b, a], await IdsAsync($"q={marker}&archived=true"));
        Assert.Equal([a], await IdsAsync($"q={marker}%20alpha"));
        Assert.Equal([c, a], await IdsAsync($"q={marker}%20alpha&archived=true"));
        Assert.Equal([c, a], await IdsAsync($"q={marker}&tag=x&archived=true"));
        Assert.Equal([b], await IdsAsync($"q={marker}&tag=y"));
        Assert.Equal([b, a], await IdsAsync($"q={marker}&tag=shared&dataset=spirals&model=mlp&status=completed"));
        Assert.Empty(await IdsAsync($"q={marker}&tag=shared&model=cnn"));
        Assert.Empty(await IdsAsync($"q={marker}&dataset=mnist"));
        Assert.Empty(await IdsAsync($"q={marker}&tag=shar"));
        Assert.Equal([b], await IdsAsync($"q={marker}&tag=shared&limit=1"));
        Assert.Equal([a], await IdsAsync($"q={marker}&tag=shared&limit=1&before={b}"));
    }

    [SkippableTheory]
    [InlineData("archived=yes", "archived")]
    [InlineData("tag=has%20space", "tag")]
    [InlineData("tag=%22", "tag")]
    [InlineData("limit=0&tag=ok", "limit")]
    [InlineData("sort=size", "sort")]
    [InlineData("sort=Created", "sort")]
    [InlineData("sort=", "sort")]
    [InlineData("order=up", "order")]
    [InlineData("sort=size&order=up", "sort", "order")]
    [InlineData("sort=duration&before=5", "before")]
    [InlineData("sort=bestValLoss&limit=2&before=5", "before")]
    [InlineData("order=asc&before=5", "before")]
    public async Task GetRuns_InvalidFilter_Returns400NamingIt(string query, params string[] fields)
    {
        using var response = await _server.Client.GetAsync($"api/runs?{query}");

        await ProblemAssert.IsValidationProblemAsync(response, fields);
    }

    [SkippableFact]
    public async Task GetRuns_SortByBestValLoss_OrdersByLossTiesByIdAndRunsWithoutOneLast()
    {
        var marker = $"srt{Guid.NewGuid():N}"[..12];
        var start = DateTime.UtcNow.AddHours(-3);
        var mid = await SeedRunAsync(marker, RunStatus.Completed, 0.5, start, start.AddMinutes(5));
        var none = await SeedRunAsync(marker, RunStatus.Stopped, null, null, start);
        var low = await SeedRunAsync(marker, RunStatus.Completed, 0.1, start, start.AddMinutes(9));
        var tie = await SeedRunAsync(marker, RunStatus.Completed, 0.5, start, start.AddMinutes(1));
        var high = await SeedRunAsync(marker, RunStatus.Failed, 2.5, start, start.AddMinutes(2));

        Assert.Equal([low, mid, tie, high, none], await IdsAsync($"q={marker}&sort=bestValLoss&order=asc"));
        Assert.Equal([high, tie, mid, low, none], await IdsAsync($"q={marker}&sort=bestValLoss&order=desc"));
        Assert.Equal([high, tie, mid, low, none], await IdsAsync($"q={marker}&sort=bestValLoss"));
        Assert.Equal([low, mid], await IdsAsync($"q={marker}&sort=bestValLoss&order=asc&limit=2"));
    }

    [SkippableFact]
    public async Task GetRuns_SortByDuration_CountsRunningToNowTiesByIdAndNeverStartedLast()
    {
        var marker = $"dur{Guid.NewGuid():N}"[..12];
        var start = DateTime.UtcNow.AddHours(-3);
        var ten = await SeedRunAsync(marker, RunStatus.Completed, 0.5, start, start.AddMinutes(10));
        var never = await SeedRunAsync(marker, RunStatus.Stopped, null, null, start);
        var running = await SeedRunAsync(marker, RunStatus.Running, 0.4, start.AddMinutes(-1), null);
        var one = await SeedRunAsync(marker, RunStatus.Failed, null, start.AddHours(1), start.AddHours(1).AddMinutes(1));
        var tenToo = await SeedRunAsync(marker, RunStatus.Stopped, 0.9, start.AddHours(2), start.AddHours(2).AddMinutes(10));

        // The running run has trained over three hours by now, longer than any finished one.
        Assert.Equal([running, tenToo, ten, one, never], await IdsAsync($"q={marker}&sort=duration"));
        Assert.Equal([one, ten, tenToo, running, never], await IdsAsync($"q={marker}&sort=duration&order=asc"));
    }

    [SkippableFact]
    public async Task GetRuns_SortByCreated_DescIsTheDefaultAndAscIsOldestFirst()
    {
        var marker = $"crt{Guid.NewGuid():N}"[..12];
        var start = DateTime.UtcNow.AddHours(-1);
        var a = await SeedRunAsync(marker, RunStatus.Completed, 0.3, start, start.AddMinutes(1));
        var b = await SeedRunAsync(marker, RunStatus.Completed, 0.1, start, start.AddMinutes(3));
        var c = await SeedRunAsync(marker, RunStatus.Completed, 0.2, start, start.AddMinutes(2));

        Assert.Equal([c, b, a], await IdsAsync($"q={marker}"));
        Assert.Equal([c, b, a], await IdsAsync($"q={marker}&sort=created&order=desc"));
        Assert.Equal([a, b, c], await IdsAsync($"q={marker}&sort=created&order=asc"));
        Assert.Equal([b, a], await IdsAsync($"q={marker}&sort=created&limit=2&before={c}"));
    }

    [SkippableFact]
    public async Task GetRuns_OverlongText_Returns400NamingQ()
    {
        using var response = await _server.Client.GetAsync($"api/runs?q={new string('q', 201)}");

        await ProblemAssert.IsValidationProblemAsync(response, "q");
    }

    private async Task<int> CreateTaggedAsync(string name, params string[] tags)
    {
        var run = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 1, name: name));
        await _server.WaitForRunStatusAsync(run.Id, "completed");
        using var response = await PatchAsync(run.Id, new { tags });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return run.Id;
    }

    /// <summary>
    /// Writes a run row straight into the server's database (as both providers allow while the server has it open): a test
    /// cannot make training take minutes or hours, nor hit a chosen loss. The status is never queued, so no executor
    /// picks the row up.
    /// </summary>
    private async Task<int> SeedRunAsync(string name, string status, double? bestValLoss, DateTime? startedAt, DateTime? finishedAt)
    {
        await using var db = new DashboardDbContext(_server.DatabaseOptions());
        var run = new Run
        {
            Name = name,
            Status = status,
            Dataset = "spirals",
            Model = "mlp",
            Epochs = 1,
            ConfigJson = "{}",
            BestValLoss = bestValLoss,
            BestValLossEpoch = bestValLoss is null ? null : 1,
            CreatedAt = DateTime.UtcNow,
            StartedAt = startedAt,
            FinishedAt = finishedAt,
        };
        db.Runs.Add(run);
        await db.SaveChangesAsync();
        return run.Id;
    }

    private async Task<int[]> IdsAsync(string query)
    {
        var runs = await _server.Client.GetFromJsonAsync<RunDto[]>($"api/runs?{query}", DashboardServer.Json);
        return [.. runs!.Select(r => r.Id)];
    }

    private Task<HttpResponseMessage> PatchAsync(int id, object body) => _server.Client.PatchAsJsonAsync($"api/runs/{id}", body);
}
