using System.Net;
using System.Net.Http.Json;
using System.Text;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;

namespace Dashboard.IntegrationTests;

/// <summary>
/// Invalid run bodies: every one is a 400 problem whose <c>errors</c> name the camelCase field at fault, and none creates a
/// run or hurts the server.
/// </summary>
[Collection(RequestOnlyCollection.Name)]
public sealed class ValidationTests(DashboardServerFixture fixture)
{
    private readonly DashboardServer _server = fixture.Server;

    /// <summary>A body per case, with the one field its error must be keyed by. Other fields are valid.</summary>
    public static TheoryData<string, string> InvalidBodies { get; } = new()
    {
        { """{ "dataset": "spirals", "epochs": 0 }""", "epochs" },
        { """{ "dataset": "spirals", "epochs": 10001 }""", "epochs" },
        { """{ "dataset": "spirals", "epochs": -5 }""", "epochs" },
        { """{ "dataset": "spirals", "learningRate": 0 }""", "learningRate" },
        { """{ "dataset": "spirals", "learningRate": -1 }""", "learningRate" },
        { """{ "dataset": "spirals", "learningRate": 1e400 }""", "learningRate" },
        { """{ "dataset": "spirals", "batchSize": 0 }""", "batchSize" },
        { """{ "dataset": "mnist", "batchSize": 100000 }""", "batchSize" },
        { """{ "dataset": "imagenet" }""", "dataset" },
        { """{ "dataset": "spirals", "model": "transformer" }""", "model" },
        { """{ "dataset": "spirals", "optimizer": "rmsprop" }""", "optimizer" },
        { """{ "dataset": "spirals", "seed": -1 }""", "seed" },
        { """{ "dataset": "spirals", "seed": 4294967296 }""", "seed" },
        { """{ "dataset": "spirals", "validationSplit": 0.9 }""", "validationSplit" },
        { """{ "dataset": "spirals", "sampleLimit": 5, "batchSize": 1 }""", "sampleLimit" },
        { """{ "dataset": "spirals", "epochs": "ten" }""", "epochs" },
        { """{ "dataset": "spirals", "epochs": 1e20 }""", "epochs" },
        { """{ "dataset": "spirals", "epochs": 2.5 }""", "epochs" },
        { """{ "dataset": "spirals", "learningRate": "fast" }""", "learningRate" },
        { """{ "dataset": "spirals", "epochs": 3 """, "body" },
        { """{ "dataset": "spirals", "epochs": }""", "epochs" },
        { """not json at all""", "body" },
        { "", "body" },
        { "null", "body" },
        { "[]", "body" },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task PostRuns_InvalidBody_Returns400ProblemKeyedByField(string json, string field)
    {
        using var response = await PostJsonAsync(json);

        await ProblemAssert.IsValidationProblemAsync(response, field);
    }

    [Fact]
    public async Task PostRuns_TextPlainContentType_Returns415Problem()
    {
        using var content = new StringContent("""{ "dataset": "spirals", "epochs": 1 }""", Encoding.UTF8, "text/plain");
        using var response = await _server.Client.PostAsync("api/runs", content);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task PostRuns_NoContentType_Returns415Problem()
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{ "dataset": "spirals", "epochs": 1 }"""));
        using var response = await _server.Client.PostAsync("api/runs", content);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task PostRuns_EveryInvalidBodyInARow_CreatesNoRunAndServerStaysHealthy()
    {
        var before = await _server.Client.GetFromJsonAsync<List<RunDto>>("api/runs", DashboardServer.Json);

        foreach (var json in InvalidBodies.Select(row => (string)row[0]))
        {
            using var response = await PostJsonAsync(json);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        using var health = await _server.Client.GetAsync("healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var after = await _server.Client.GetFromJsonAsync<List<RunDto>>("api/runs", DashboardServer.Json);
        Assert.Equal(before?.Select(r => r.Id), after?.Select(r => r.Id));
        Assert.True(_server.IsRunning);
    }

    private async Task<HttpResponseMessage> PostJsonAsync(string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        return await _server.Client.PostAsync("api/runs", content);
    }
}
