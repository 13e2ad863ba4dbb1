using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary>
/// The sample plugin in the real server process, loaded from its build output beside the broken test plugins: listed with
/// its schema, trained with a non-default hyperparameter, and resumed exactly in a new process.
/// </summary>
public sealed class PluginApiTests : IAsyncLifetime
{
    private const int Epochs = 6;
    private DashboardServer? _server;

    private DashboardServer Server => _server!;

    public async Task InitializeAsync() => _server = await DashboardServer.StartAsync(new Dictionary<string, string>
    {
        ["Training:MaxConcurrentRuns"] = "1",
        ["Training:Device"] = "cpu",
        ["Training:AutoResume"] = "false",
        ["Training:Plugins:0"] = PluginFolders.Sample,
        ["Training:Plugins:1"] = PluginFolders.Broken,
    });

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task ResumeInANewProcess_SamplePluginRunWithANonDefaultWidth_EndsBitwiseEqualToAnUninterruptedRun()
    {
        var models = await Server.Client.GetFromJsonAsync<JsonElement>("api/models");
        var waveConv = models.EnumerateArray().Single(m => m.GetProperty("name").GetString() == "wave-conv");
        Assert.Equal("SamplePlugin", waveConv.GetProperty("plugin").GetProperty("name").GetString());
        Assert.Equal(16, waveConv.GetProperty("hyperparameters").EnumerateArray().Single(h => h.GetProperty("name").GetString() == "width").GetProperty("default").GetDouble());

        var straight = await Server.WaitForRunStatusAsync((await Server.CreateRunAsync(Body("straight", Epochs))).Id, "completed", TimeSpan.FromSeconds(180));

        // Half the epochs, then the same run continued to all of them by a new process: with a constant learning rate the
        // total epochs change nothing but where it stops.
        var half = await Server.WaitForRunStatusAsync((await Server.CreateRunAsync(Body("halved", Epochs / 2))).Id, "completed", TimeSpan.FromSeconds(180));
        var resumeFrom = (await Server.GetCheckpointsAsync(half.Id)).Where(c => c.Status == "durable").OrderBy(c => c.Step).ThenBy(c => c.Id).Last();
        Assert.Equal(0, await Server.StopAsync());
        await Server.RestartAsync();
        using (var response = await Server.Client.PostAsJsonAsync($"api/checkpoints/{resumeFrom.Id}/resume", new { epochs = Epochs }))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        var resumed = await Server.WaitForRunStatusAsync(half.Id, "completed", TimeSpan.FromSeconds(180));
        ExactResumeSuite.AssertStartedAt(resumed, resumeFrom.Id, resumeFrom.Step, straight);
        Assert.Equal(new Dictionary<string, double> { ["kernel"] = 3, ["width"] = 8 }, resumed.Config.Hyperparameters);
        var expected = await Server.GetMetricsAsync(straight.Id);
        var actual = await Server.GetMetricsAsync(resumed.Id);
        Assert.Equal(Epochs, expected.Count);
        Assert.Equal(
            expected.Select(m => (m.Epoch, m.Step, m.Loss, m.ValLoss, m.Accuracy, m.ValAccuracy)),
            actual.Select(m => (m.Epoch, m.Step, m.Loss, m.ValLoss, m.Accuracy, m.ValAccuracy)));
        Assert.True(expected[^1].ValAccuracy > 0.8, $"The sample model did not learn the waves: {expected[^1].ValAccuracy}.");

        var straightLast = await NewestAsync(straight.Id);
        var resumedLast = await NewestAsync(resumed.Id);
        Assert.Equal(
            CheckpointDisk.FileHash(Server.CheckpointDirectory, straightLast, "weights.bin"),
            CheckpointDisk.FileHash(Server.CheckpointDirectory, resumedLast, "weights.bin"));

        // The checkpoint records the plugin build and the hyperparameters it was trained with.
        using var manifest = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(CheckpointDisk.Folder(Server.CheckpointDirectory, resumedLast), "manifest.json")));
        var spec = manifest.RootElement.GetProperty("modelSpec");
        Assert.Equal(8, spec.GetProperty("hyperparameters").GetProperty("width").GetDouble());
        Assert.Equal(
            Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(PluginFolders.Sample, "SamplePlugin.dll")))),
            spec.GetProperty("plugin").GetProperty("assemblySha256").GetString());
    }

    [Fact]
    public async Task Healthz_BrokenPluginLoaded_Stays200AndNamesItsProblemsWhileTheServerServes()
    {
        using var health = await Server.Client.GetAsync("healthz");
        var body = await health.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("healthy", body.GetProperty("status").GetString());
        var problems = body.GetProperty("pluginProblems").EnumerateArray().Select(p => p.GetString()!).ToList();
        Assert.Contains(problems, p => p.Contains("Dashboard.TestPlugins.Broken", StringComparison.Ordinal) && p.Contains("broken on purpose in Register", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("broken on purpose in build", StringComparison.Ordinal));

        using var invalid = await Server.Client.PostAsJsonAsync("api/runs", new { dataset = "waves", model = "wave-conv", hyperparameters = new { width = 999, kernel = true } });
        var errors = await ProblemAssert.IsValidationProblemAsync(invalid, "hyperparameters.width", "hyperparameters.kernel");
        Assert.Contains("between 1 and 256", errors.GetProperty("hyperparameters.width")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Workers_ServerTrainingWithTheSamplePlugin_ListsItsNameVersionAndDllHash()
    {
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(PluginFolders.Sample, "SamplePlugin.dll"))));

        // The server's embedded worker registers as it starts; its row says which build of each plugin it trains with.
        var workers = await Poll.UntilAsync(
            ct => Server.Client.GetFromJsonAsync<JsonElement>("api/workers", ct),
            w => w.GetArrayLength() == 1,
            TimeSpan.FromSeconds(30),
            "the embedded worker's row");
        string Identity(JsonElement p) => $"{p.GetProperty("name").GetString()} {p.GetProperty("version").GetString()} {p.GetProperty("assemblySha256").GetString()}";
        var advertised = workers[0].GetProperty("plugins").EnumerateArray().Select(Identity).ToList();

        // Every plugin this process loaded (the sample, and the test plugin whose models fail only when built), none else.
        var loaded = (await Server.Client.GetFromJsonAsync<JsonElement>("api/plugins")).GetProperty("loaded").EnumerateArray()
            .Select(p => Identity(p.GetProperty("identity"))).ToList();
        Assert.Equal(loaded.Order(), advertised.Order());
        var sample = Assert.Single(advertised, p => p.StartsWith("SamplePlugin ", StringComparison.Ordinal));
        Assert.EndsWith($" {sha256}", sample, StringComparison.Ordinal);
        Assert.DoesNotContain("  ", sample, StringComparison.Ordinal); // a version is there
    }

    private static object Body(string name, int epochs) => new
    {
        name,
        dataset = "waves",
        model = "wave-conv",
        hyperparameters = new { width = 8, kernel = 3 },
        epochs,
        batchSize = 32,
        learningRate = 0.01,
        optimizer = "adam",
        seed = 99,
        checkpoint = new { everyEpochs = 1 },
    };

    private async Task<CheckpointDto> NewestAsync(int runId) =>
        (await Server.GetCheckpointsAsync(runId)).Where(c => c.Status == "durable").OrderBy(c => c.Step).ThenBy(c => c.Id).Last();
}
