using System.Net;
using System.Text;
using System.Text.Json;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary>
/// Every field of the run, resume and fine-tune bodies at its limits and beyond: each is a 400 problem whose <c>errors</c>
/// name the camelCase path of the field at fault, nothing is created, and the server goes on serving.
/// <see cref="ValidationTests"/> holds the first cases of the run body; these are the rest.
/// </summary>
[Collection(TrainedServerCollection.Name)]
public sealed class RequestBodyTests(TrainedServerFixture fixture)
{
    private const string Runs = "runs";
    private const string Resume = "resume";
    private const string FineTune = "finetune";

    private static readonly string LongName = new('n', 201);

    private readonly DashboardServer _server = fixture.Server;

    /// <summary>(route, body, the one field its error must be keyed by). Other fields are valid or omitted.</summary>
    public static TheoryData<string, string, string> InvalidBodies { get; } = new()
    {
        // POST /api/runs: top-level fields.
        { Runs, $$"""{ "dataset": "spirals", "name": "{{LongName}}" }""", "name" },
        { Runs, """{ "dataset": "spirals", "name": 5 }""", "name" },
        { Runs, """{ "dataset": "spirals", "name": ["a"] }""", "name" },
        { Runs, """{ "dataset": 7 }""", "dataset" },
        { Runs, """{ "dataset": "" }""", "dataset" },
        { Runs, """{ "dataset": "spirals", "model": true }""", "model" },
        { Runs, """{ "dataset": "spirals", "model": "cnn" }""", "model" },
        { Runs, """{ "dataset": "spirals", "epochs": "NaN" }""", "epochs" },
        { Runs, """{ "dataset": "spirals", "epochs": true }""", "epochs" },
        { Runs, """{ "dataset": "spirals", "epochs": [3] }""", "epochs" },
        { Runs, """{ "dataset": "spirals", "epochs": 2147483648 }""", "epochs" },
        { Runs, """{ "dataset": "spirals", "batchSize": -1 }""", "batchSize" },
        { Runs, """{ "dataset": "spirals", "batchSize": "64" }""", "batchSize" },
        { Runs, """{ "dataset": "spirals", "batchSize": 1.5 }""", "batchSize" },
        { Runs, """{ "dataset": "spirals", "learningRate": "NaN" }""", "learningRate" },
        { Runs, """{ "dataset": "spirals", "learningRate": "Infinity" }""", "learningRate" },
        { Runs, """{ "dataset": "spirals", "learningRate": "-Infinity" }""", "learningRate" },
        { Runs, """{ "dataset": "spirals", "learningRate": 1e309 }""", "learningRate" },
        { Runs, """{ "dataset": "spirals", "learningRate": 10.5 }""", "learningRate" },
        { Runs, """{ "dataset": "spirals", "learningRate": true }""", "learningRate" },
        { Runs, """{ "dataset": "spirals", "optimizer": 3 }""", "optimizer" },
        { Runs, """{ "dataset": "spirals", "optimizer": "" }""", "optimizer" },
        { Runs, """{ "dataset": "spirals", "seed": "NaN" }""", "seed" },
        { Runs, """{ "dataset": "spirals", "seed": 1.5 }""", "seed" },
        { Runs, """{ "dataset": "spirals", "seed": 1e30 }""", "seed" },
        { Runs, """{ "dataset": "spirals", "validationSplit": 0 }""", "validationSplit" },
        { Runs, """{ "dataset": "spirals", "validationSplit": -0.1 }""", "validationSplit" },
        { Runs, """{ "dataset": "spirals", "validationSplit": "NaN" }""", "validationSplit" },
        { Runs, """{ "dataset": "spirals", "validationSplit": 1e309 }""", "validationSplit" },
        { Runs, """{ "dataset": "spirals", "sampleLimit": 0 }""", "sampleLimit" },
        { Runs, """{ "dataset": "spirals", "sampleLimit": -1 }""", "sampleLimit" },
        { Runs, """{ "dataset": "spirals", "sampleLimit": 1000000 }""", "sampleLimit" },
        { Runs, """{ "dataset": "spirals", "sampleLimit": "all" }""", "sampleLimit" },

        // POST /api/runs: the checkpoint policy.
        { Runs, """{ "dataset": "spirals", "checkpoint": "x" }""", "checkpoint" },
        { Runs, """{ "dataset": "spirals", "checkpoint": [] }""", "checkpoint" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "monitor": "f1" } }""", "checkpoint.monitor" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "monitor": "val_loss" } }""", "checkpoint.monitor" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "monitor": null } }""", "checkpoint.monitor" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "mode": "sideways" } }""", "checkpoint.mode" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "everyEpochs": -1 } }""", "checkpoint.everyEpochs" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "everySteps": 0 } }""", "checkpoint.everySteps" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "everyMinutes": "NaN" } }""", "checkpoint.everyMinutes" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "everyMinutes": -1 } }""", "checkpoint.everyMinutes" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "minDelta": -1 } }""", "checkpoint.minDelta" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "minDelta": "Infinity" } }""", "checkpoint.minDelta" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "keepTopK": 0 } }""", "checkpoint.keepTopK" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "keepLast": -3 } }""", "checkpoint.keepLast" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "keepEveryEpochs": 0 } }""", "checkpoint.keepEveryEpochs" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "maxBytes": 0 } }""", "checkpoint.maxBytes" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "maxBytes": 1e30 } }""", "checkpoint.maxBytes" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "saveBestOnly": "yes" } }""", "checkpoint.saveBestOnly" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "fileNameTemplate": "" } }""", "checkpoint.fileNameTemplate" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "fileNameTemplate": "../../{epoch}" } }""", "checkpoint.fileNameTemplate" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "fileNameTemplate": 5 } }""", "checkpoint.fileNameTemplate" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "fileNameTemplate": "{epoch:0999999999d}" } }""", "checkpoint.fileNameTemplate" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "fileNameTemplate": "{epoch:09999999999d}" } }""", "checkpoint.fileNameTemplate" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "fileNameTemplate": "{valLoss:.99f}" } }""", "checkpoint.fileNameTemplate" },
        { Runs, """{ "dataset": "spirals", "checkpoint": { "everyEpoch": 2 } }""", "checkpoint.everyEpoch" },

        // POST /api/runs: the learning-rate schedule.
        { Runs, """{ "dataset": "spirals", "schedule": "cosine" }""", "schedule" },
        { Runs, """{ "dataset": "spirals", "schedule": { "type": "exponential" } }""", "schedule.type" },
        { Runs, """{ "dataset": "spirals", "schedule": { "type": "step", "stepEpochs": 0 } }""", "schedule.stepEpochs" },
        { Runs, """{ "dataset": "spirals", "schedule": { "type": "step", "gamma": 0 } }""", "schedule.gamma" },
        { Runs, """{ "dataset": "spirals", "schedule": { "type": "step", "gamma": 1.5 } }""", "schedule.gamma" },
        { Runs, """{ "dataset": "spirals", "schedule": { "type": "step", "gamma": "NaN" } }""", "schedule.gamma" },
        { Runs, """{ "dataset": "spirals", "schedule": { "type": "cosine", "cosineEpochs": 0 } }""", "schedule.cosineEpochs" },
        { Runs, """{ "dataset": "spirals", "schedule": { "type": "cosine", "minLearningRate": -1 } }""", "schedule.minLearningRate" },
        { Runs, """{ "dataset": "spirals", "schedule": { "type": "plateau", "factor": 1 } }""", "schedule.factor" },
        { Runs, """{ "dataset": "spirals", "schedule": { "type": "plateau", "patience": -1 } }""", "schedule.patience" },
        { Runs, """{ "dataset": "spirals", "schedule": { "type": "plateau", "threshold": -1 } }""", "schedule.threshold" },
        { Runs, """{ "dataset": "spirals", "schedule": { "type": "plateau", "cooldown": -1 } }""", "schedule.cooldown" },
        { Runs, """{ "dataset": "spirals", "schedule": { "type": "plateau", "monitor": "f1" } }""", "schedule.monitor" },
        { Runs, """{ "dataset": "spirals", "schedule": { "type": "plateau", "mode": "up" } }""", "schedule.mode" },
        { Runs, """{ "dataset": "spirals", "schedule": { "type": "step", "step": 3 } }""", "schedule.step" },

        // POST /api/runs: early stopping.
        { Runs, """{ "dataset": "spirals", "earlyStopping": { "monitor": "valAcc" } }""", "earlyStopping.monitor" },
        { Runs, """{ "dataset": "spirals", "earlyStopping": { "mode": "best" } }""", "earlyStopping.mode" },
        { Runs, """{ "dataset": "spirals", "earlyStopping": { "patience": 0 } }""", "earlyStopping.patience" },
        { Runs, """{ "dataset": "spirals", "earlyStopping": { "patience": 2.5 } }""", "earlyStopping.patience" },
        { Runs, """{ "dataset": "spirals", "earlyStopping": { "minDelta": -0.1 } }""", "earlyStopping.minDelta" },
        { Runs, """{ "dataset": "spirals", "earlyStopping": { "minDelta": "Infinity" } }""", "earlyStopping.minDelta" },
        { Runs, """{ "dataset": "spirals", "earlyStopping": { "restoreBestWeights": 1 } }""", "earlyStopping.restoreBestWeights" },

        // POST /api/runs: names the API does not have, a field given twice, bodies that are not objects.
        { Runs, """{ "dataset": "spirals", "epoch": 5 }""", "epoch" },
        { Runs, """{ "dataset": "spirals", "lr": 0.1 }""", "lr" },
        { Runs, """{ "dataset": "spirals", "epochs": 1, "epochs": 2 }""", "epochs" },
        { Runs, """{ "dataset": "spirals", "classFilter": [0] }""", "classFilter" },
        { Runs, """{ "dataset": "spirals", "fineTune": {} }""", "fineTune" },
        { Runs, "\"spirals\"", "body" },
        { Runs, "5", "body" },
        { Runs, "true", "body" },
        { Runs, new string('[', 100) + new string(']', 100), "body" },

        // POST /api/checkpoints/{id}/resume, on the fixture's epoch-1 checkpoint.
        { Resume, """{ "epochs": 0 }""", "epochs" },
        { Resume, """{ "epochs": -1 }""", "epochs" },
        { Resume, """{ "epochs": 1 }""", "epochs" },
        { Resume, """{ "epochs": 10001 }""", "epochs" },
        { Resume, """{ "epochs": 2147483648 }""", "epochs" },
        { Resume, """{ "epochs": "ten" }""", "epochs" },
        { Resume, """{ "epochs": "NaN" }""", "epochs" },
        { Resume, """{ "epochs": 1.5 }""", "epochs" },
        { Resume, """{ "epochs": 1e309 }""", "epochs" },
        { Resume, """{ "epochs": true }""", "epochs" },
        { Resume, """{ "epochs": [5] }""", "epochs" },
        { Resume, """{ "epochs": {} }""", "epochs" },
        { Resume, """{ "epoch": 5 }""", "epoch" },
        { Resume, """{ "learningRate": 0.1 }""", "learningRate" },
        { Resume, """{ "epochs": 5, "epochs": 6 }""", "epochs" },
        { Resume, """{ "epochs": """, "epochs" },
        { Resume, "[]", "body" },
        { Resume, "null", "body" },
        { Resume, "\"x\"", "body" },

        // POST /api/checkpoints/{id}/finetune, on the fixture's newest checkpoint (spirals MLP).
        { FineTune, "{}", "epochs" },
        { FineTune, """{ "epochs": null }""", "epochs" },
        { FineTune, """{ "epochs": 0 }""", "epochs" },
        { FineTune, """{ "epochs": -2 }""", "epochs" },
        { FineTune, """{ "epochs": 10001 }""", "epochs" },
        { FineTune, """{ "epochs": "5" }""", "epochs" },
        { FineTune, $$"""{ "epochs": 1, "name": "{{LongName}}" }""", "name" },
        { FineTune, """{ "epochs": 1, "name": 5 }""", "name" },
        { FineTune, """{ "epochs": 1, "learningRate": 0 }""", "learningRate" },
        { FineTune, """{ "epochs": 1, "learningRate": -1 }""", "learningRate" },
        { FineTune, """{ "epochs": 1, "learningRate": "NaN" }""", "learningRate" },
        { FineTune, """{ "epochs": 1, "learningRate": "Infinity" }""", "learningRate" },
        { FineTune, """{ "epochs": 1, "learningRate": 1e309 }""", "learningRate" },
        { FineTune, """{ "epochs": 1, "learningRate": 100 }""", "learningRate" },
        { FineTune, """{ "epochs": 1, "learningRate": "fast" }""", "learningRate" },
        { FineTune, """{ "epochs": 1, "optimizer": "rmsprop" }""", "optimizer" },
        { FineTune, """{ "epochs": 1, "optimizer": 5 }""", "optimizer" },
        { FineTune, """{ "epochs": 1, "resetOptimizer": "yes" }""", "resetOptimizer" },
        { FineTune, """{ "epochs": 1, "resetOptimizer": 1 }""", "resetOptimizer" },
        { FineTune, """{ "epochs": 1, "freeze": ["nope"] }""", "freeze" },
        { FineTune, """{ "epochs": 1, "freeze": ["layers"] }""", "freeze" },
        { FineTune, """{ "epochs": 1, "freeze": "layers.fc1" }""", "freeze" },
        { FineTune, """{ "epochs": 1, "freeze": [1] }""", "freeze[0]" },
        { FineTune, """{ "epochs": 1, "dataset": "imagenet" }""", "dataset" },
        { FineTune, """{ "epochs": 1, "dataset": "mnist" }""", "dataset" },
        { FineTune, """{ "epochs": 1, "dataset": 3 }""", "dataset" },
        { FineTune, """{ "epochs": 1, "datasetFilter": [] }""", "datasetFilter" },
        { FineTune, """{ "epochs": 1, "datasetFilter": [5] }""", "datasetFilter" },
        { FineTune, """{ "epochs": 1, "datasetFilter": [-1] }""", "datasetFilter" },
        { FineTune, """{ "epochs": 1, "datasetFilter": [0, 0] }""", "datasetFilter" },
        { FineTune, """{ "epochs": 1, "datasetFilter": "0-4" }""", "datasetFilter" },
        { FineTune, """{ "epochs": 1, "datasetFilter": [0.5] }""", "datasetFilter[0]" },
        { FineTune, """{ "epochs": 1, "batchSize": 0 }""", "batchSize" },
        { FineTune, """{ "epochs": 1, "batchSize": 100000 }""", "batchSize" },
        { FineTune, """{ "epochs": 1, "batchSize": "big" }""", "batchSize" },
        { FineTune, """{ "epochs": 1, "schedule": { "type": "bogus" } }""", "schedule.type" },
        { FineTune, """{ "epochs": 1, "schedule": { "type": "step", "gamma": 0 } }""", "schedule.gamma" },
        { FineTune, """{ "epochs": 1, "earlyStopping": { "monitor": "f1" } }""", "earlyStopping.monitor" },
        { FineTune, """{ "epochs": 1, "earlyStopping": { "patience": 0 } }""", "earlyStopping.patience" },
        { FineTune, """{ "epochs": 1, "sampleLimit": 100 }""", "sampleLimit" },
        { FineTune, """{ "epochs": 1, "freezeLayers": ["layers.fc1"] }""", "freezeLayers" },
        { FineTune, """{ "epochs": 1, "epochs": 2 }""", "epochs" },
        { FineTune, "", "body" },
        { FineTune, "null", "body" },
        { FineTune, "[]", "body" },
        { FineTune, """{ "epochs": 1 """, "body" },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task Post_InvalidBody_Returns400ProblemKeyedByField(string route, string json, string field)
    {
        using var response = await _server.Client.PostJsonAsync(PathOf(route), json);

        await ProblemAssert.IsValidationProblemAsync(response, field);
    }

    [Fact]
    public async Task Post_EveryInvalidBodyInARow_CreatesNothingAndTheServerStillTrains()
    {
        var before = await _server.RunIdsAsync();

        foreach (var row in InvalidBodies)
        {
            using var response = await _server.Client.PostJsonAsync(PathOf((string)row[0]), (string)row[1]);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{row[0]} {row[1]} answered {(int)response.StatusCode}.");
        }

        Assert.Equal(before, await _server.RunIdsAsync());
        Assert.All(await _server.GetCheckpointsAsync(fixture.Run.Id), c => Assert.Equal("durable", c.Status));
        using var health = await _server.Client.GetAsync("healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var run = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 1, name: "after-bad-bodies"));
        await _server.WaitForRunStatusAsync(run.Id, "completed");
    }

    [Fact]
    public async Task PostRuns_ConfigOfAnExistingRun_IsAcceptedAsIs()
    {
        // Unknown fields are refused, yet a script may re-run a config it read: every field GET answers must be accepted.
        using var run = JsonDocument.Parse(await _server.Client.GetStringAsync($"api/runs/{fixture.Run.Id}"));
        var config = run.RootElement.GetProperty("config").GetRawText();

        using var response = await _server.Client.PostJsonAsync("api/runs", config);

        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        using var created = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(config, created.RootElement.GetProperty("config").GetRawText());
        await _server.WaitForRunStatusAsync(created.RootElement.GetProperty("id").GetInt32(), "completed");
    }

    [Theory]
    [InlineData(Resume, "text/plain")]
    [InlineData(FineTune, "text/plain")]
    [InlineData(FineTune, null)]
    [InlineData(Runs, "application/xml")]
    public async Task Post_BodyNotSentAsJson_Returns415Problem(string route, string? contentType)
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{ "epochs": 5 }"""));
        if (contentType is not null)
        {
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        }

        using var response = await _server.Client.PostAsync(PathOf(route), content);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
    }

    [Theory]
    [InlineData(Runs)]
    [InlineData(Resume)]
    [InlineData(FineTune)]
    public async Task Post_BodyOverTheJsonCap_Returns413ProblemAndCreatesNothing(string route)
    {
        var before = await _server.RunIdsAsync();
        var json = $$"""{ "epochs": 2, "name": "{{new string('x', 2 * 1024 * 1024)}}" }""";

        using var response = await _server.Client.PostJsonAsync(PathOf(route), json);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(before, await _server.RunIdsAsync());
    }

    [Theory]
    [InlineData("api/runs?limit=ten", "limit")]
    [InlineData("api/runs?limit=0", "limit")]
    [InlineData("api/runs?limit=1001", "limit")]
    [InlineData("api/runs?before=x", "before")]
    [InlineData("api/runs?before=-3", "before")]
    [InlineData("api/runs?status=RUNNING", "status")]
    public async Task GetRuns_InvalidQuery_Returns400ProblemNamingTheParameter(string path, string field)
    {
        using var response = await _server.Client.GetAsync(path);

        await ProblemAssert.IsValidationProblemAsync(response, field);
    }

    [Theory]
    [InlineData("checkpoints/best?monitor=f1", "monitor")]
    [InlineData("checkpoints/best?monitor=val_loss", "monitor")]
    [InlineData("checkpoints/best?mode=best", "mode")]
    public async Task GetBest_InvalidMonitorOrMode_Returns400ProblemNamingIt(string path, string field)
    {
        using var response = await _server.Client.GetAsync($"api/runs/{fixture.Run.Id}/{path}");

        await ProblemAssert.IsValidationProblemAsync(response, field);
    }

    [Theory]
    [InlineData("""{ "input": [0.5] }""", "input")]
    [InlineData("""{ "input": [0.5, 0.5, 0.5] }""", "input")]
    [InlineData("""{ "input": [0.5, "NaN"] }""", "input")]
    [InlineData("""{ "input": [0.5, 1e39] }""", "input")]
    [InlineData("""{ "input": null }""", "input")]
    [InlineData("""{ "input": "0.5,0.5" }""", "input")]
    [InlineData("""{ "input": [0.5, "a"] }""", "input[1]")]
    [InlineData("""{ "pixels": [0.5, 0.5] }""", "pixels")]
    [InlineData("{}", "input")]
    public async Task PostPredict_InvalidInput_Returns400ProblemNamingIt(string json, string field)
    {
        using var response = await _server.Client.PostJsonAsync($"api/checkpoints/{fixture.Last.Id}/predict", json);

        await ProblemAssert.IsValidationProblemAsync(response, field);
    }

    [Theory]
    [InlineData("pickle")]
    [InlineData("SafeTensors")]
    [InlineData("..%2F..%2Fdashboard.db")]
    [InlineData("%2Fetc%2Fpasswd")]
    public async Task GetExport_UnknownFormat_Returns400ProblemNamingFormat(string format)
    {
        using var response = await _server.Client.GetAsync($"api/checkpoints/{fixture.Last.Id}/export?format={format}");

        var errors = await ProblemAssert.IsValidationProblemAsync(response, "format");
        Assert.Contains("safetensors", errors.GetProperty("format")[0].GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not-a-hash")]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg")]
    public async Task PostAdopt_NotAHash_Returns400ProblemNamingSha256(string sha256)
    {
        using var response = await _server.Client.PostEmptyAsync($"api/checkpoints/orphans/{sha256}/adopt");

        await ProblemAssert.IsValidationProblemAsync(response, "sha256");
    }

    private string PathOf(string route) => route switch
    {
        Runs => "api/runs",
        Resume => $"api/checkpoints/{fixture.First.Id}/resume",
        FineTune => $"api/checkpoints/{fixture.Last.Id}/finetune",
        _ => throw new ArgumentOutOfRangeException(nameof(route), route, null),
    };
}
