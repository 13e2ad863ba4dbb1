using System.Globalization;
using System.Net;
using System.Text.Json;
using Dashboard.Data;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary><c>?format=csv|json</c> on <c>/metrics</c> and <c>/steps</c>: a run's curves as files, on the real server.</summary>
public sealed class RunDownloadApiTests(DashboardServerFixture fixture) : IClassFixture<DashboardServerFixture>
{
    private readonly DashboardServer _server = fixture.Server;

    [Fact]
    public async Task GetMetrics_CsvOfTrainedRun_HasTheJsonFieldNamesAsHeaderAndTheSameValues()
    {
        var run = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 3, name: "download-metrics"));
        await _server.WaitForRunStatusAsync(run.Id, "completed", DashboardServer.DefaultRunTimeout);
        using var json = JsonDocument.Parse(await _server.Client.GetStringAsync($"api/runs/{run.Id}/metrics"));
        var rows = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(3, rows.Count);

        using var response = await _server.Client.GetAsync($"api/runs/{run.Id}/metrics?format=csv");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal($"run{run.Id}-metrics.csv", response.Content.Headers.ContentDisposition?.FileName);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(rows[0].EnumerateObject().Select(p => p.Name), lines[0].Split(','));
        Assert.Equal(rows.Count + 1, lines.Length);
        for (var i = 0; i < rows.Count; i++)
        {
            var cells = lines[i + 1].Split(',');
            var fields = rows[i].EnumerateObject().ToList();
            Assert.Equal(fields.Count, cells.Length);
            for (var f = 0; f < fields.Count; f++)
            {
                AssertCellMatches(fields[f], cells[f]);
            }
        }
    }

    [Fact]
    public async Task GetMetrics_FormatJson_SameBodyAsWithoutFormatAsAFile()
    {
        var runId = await _server.SeedRunWithStepsAsync("download-json", [new StepRow(1, 1, 0.5)]);
        var plain = await _server.Client.GetStringAsync($"api/runs/{runId}/metrics");

        using var response = await _server.Client.GetAsync($"api/runs/{runId}/metrics?format=json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal($"run{runId}-metrics.json", response.Content.Headers.ContentDisposition?.FileName);
        Assert.Equal(plain, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task GetSteps_CsvAndJsonOf30kSeededSteps_HaveEveryStepExactlyInOrder()
    {
        // More steps than the most buckets /steps answers with, so a downsampled answer could not pass.
        var random = new Random(11);
        var seeded = Enumerable.Range(1, 30_000).Select(s => new StepRow(s, 1 + (s / 7_000), random.NextDouble() * 3)).ToArray();
        var runId = await _server.SeedRunWithStepsAsync("download-steps", seeded);

        using var csv = await _server.Client.GetAsync($"api/runs/{runId}/steps?format=csv", HttpCompletionOption.ResponseHeadersRead);
        using var json = await _server.Client.GetAsync($"api/runs/{runId}/steps?format=json", HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (csv.StatusCode, json.StatusCode));

        // Streamed, not gathered first: an answer built whole in memory would know and send its length.
        Assert.Equal((null, null), (csv.Content.Headers.ContentLength, json.Content.Headers.ContentLength));
        Assert.Equal($"run{runId}-steps.csv", csv.Content.Headers.ContentDisposition?.FileName);
        Assert.Equal($"run{runId}-steps.json", json.Content.Headers.ContentDisposition?.FileName);
        var lines = (await csv.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("step,epoch,loss", lines[0]);
        Assert.Equal(seeded, lines.Skip(1).Select(ParseStepLine));
        using var document = JsonDocument.Parse(await json.Content.ReadAsStringAsync());
        Assert.Equal(seeded, document.RootElement.EnumerateArray().Select(e =>
        {
            Assert.Equal(["step", "epoch", "loss"], e.EnumerateObject().Select(p => p.Name));
            return new StepRow(e.GetProperty("step").GetInt64(), e.GetProperty("epoch").GetInt32(), e.GetProperty("loss").GetDouble());
        }));
    }

    [Fact]
    public async Task GetSteps_CsvWithFromAndTo_HasOnlyTheStepsInTheRange()
    {
        var seeded = Enumerable.Range(1, 100).Select(s => new StepRow(s, 1, s / 10.0)).ToArray();
        var runId = await _server.SeedRunWithStepsAsync("download-range", seeded);

        var lines = (await _server.Client.GetStringAsync($"api/runs/{runId}/steps?format=csv&from=20&to=29")).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(seeded[19..29], lines.Skip(1).Select(ParseStepLine));
    }

    [Theory]
    [InlineData("metrics?format=xml", "format")]
    [InlineData("steps?format=xml", "format")]
    [InlineData("steps?format=", "format")]
    [InlineData("steps?format=csv&buckets=10", "buckets")]
    [InlineData("steps?format=csv&from=x", "from")]
    public async Task GetDownload_BadQuery_Returns400NamingTheField(string route, string field)
    {
        var runId = await _server.SeedRunWithStepsAsync("download-bad", [new StepRow(1, 1, 0.5)]);

        using var response = await _server.Client.GetAsync($"api/runs/{runId}/{route}");

        await ProblemAssert.IsValidationProblemAsync(response, field);
    }

    [Theory]
    [InlineData("metrics?format=csv")]
    [InlineData("steps?format=csv")]
    [InlineData("steps?format=json")]
    public async Task GetDownload_UnknownRun_Returns404Problem(string route)
    {
        using var response = await _server.Client.GetAsync($"api/runs/987654/{route}");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
    }

    private static StepRow ParseStepLine(string line)
    {
        var cells = line.Split(',');
        Assert.Equal(3, cells.Length);
        return new StepRow(long.Parse(cells[0], CultureInfo.InvariantCulture), int.Parse(cells[1], CultureInfo.InvariantCulture), double.Parse(cells[2], CultureInfo.InvariantCulture));
    }

    /// <summary>A CSV cell holds what the JSON field does: the same number, nothing for null, the same instant.</summary>
    private static void AssertCellMatches(JsonProperty field, string cell)
    {
        switch (field.Value.ValueKind)
        {
            case JsonValueKind.Null:
                Assert.Equal("", cell);
                break;
            case JsonValueKind.Number:
                Assert.Equal(field.Value.GetDouble(), double.Parse(cell, NumberStyles.Float, CultureInfo.InvariantCulture));
                break;
            case JsonValueKind.String:
                Assert.Equal(field.Value.GetDateTime(), DateTime.Parse(cell, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind));
                break;
            default:
                Assert.Fail($"Unexpected JSON field {field}");
                break;
        }
    }
}
