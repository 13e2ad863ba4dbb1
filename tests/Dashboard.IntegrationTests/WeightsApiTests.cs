using System.Net;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Dashboard.Engine.Export;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Weights;
using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary>
/// Pre-trained weights through the real server: uploaded (safetensors exported by this app, safetensors written by hand,
/// a real torch.save state_dict), matched, trained from with frozen layers kept bit for bit; unsafe or unusable files
/// refused with 400 naming the reason; a run's config difference from its parent.
/// </summary>
public sealed class WeightsApiTests(WeightsApiTests.Server fixture) : IClassFixture<WeightsApiTests.Server>
{
    public sealed class Server : DashboardServerFixture
    {
        protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
        {
            ["Training:MaxConcurrentRuns"] = "1",
            ["Training:Device"] = "cpu",
        };
    }

    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Weights");

    private HttpClient Client => fixture.Server.Client;

    [Fact]
    public async Task InitialWeights_SafetensorsExportedByThisApp_AllMatchAndFrozenLayerStaysBitwise()
    {
        var source = await TrainAsync(new { name = "weights-source", dataset = "spirals", model = "mlp", epochs = 1, batchSize = 64, seed = 5 });
        var last = (await fixture.Server.GetCheckpointsAsync(source.Id)).Single(c => c.Kind == "last");
        var exported = await Client.GetByteArrayAsync($"api/checkpoints/{last.Id}/export?format=safetensors");

        var weights = await UploadAsync(exported, "exported.safetensors");
        Assert.Equal(("safetensors", weights.Sha256), (weights.Format, weights.Id));
        var match = await MatchAsync(weights.Id, "mlp", "spirals");
        Assert.Equal(6, match.Matched.Count);
        Assert.Empty(match.Missing.Concat(match.Unexpected));
        Assert.Empty(match.ShapeMismatches);

        var run = await TrainAsync(new { name = "from-export", dataset = "spirals", model = "mlp", epochs = 2, seed = 9, initialWeights = new { id = weights.Id, freeze = new[] { "layers.fc1" } } });

        Assert.Equal(6, run.Config.InitialWeights!.Matched);
        Assert.Equal(weights.Sha256, run.Config.InitialWeights.Sha256);
        var before = Tensors(exported);
        var after = Tensors(await ExportLastAsync(run.Id));
        Assert.Equal(before["layers.fc1.weight"], after["layers.fc1.weight"]);
        Assert.Equal(before["layers.fc1.bias"], after["layers.fc1.bias"]);
        Assert.NotEqual(before["layers.fc2.weight"], after["layers.fc2.weight"]);
        await AssertLogSaysAsync(run.Id, $"Starting from weights {weights.Sha256[..12]}");

        var diff = await Client.GetFromJsonAsync<List<ConfigChangeDto>>($"api/runs/{run.Id}/config-diff", JsonDefaults.Options);
        Assert.Contains(diff!, c => c.Path == "initialWeights.sha256" && c.Parent is null && c.Child == weights.Sha256);
        Assert.Contains(diff!, c => c.Path == "initialWeights.freeze" && c.Child == "[\"layers.fc1\"]");
    }

    [Fact]
    public async Task InitialWeights_HandWrittenSafetensorsWithAnotherHead_HeadReportedAndTrainedFromItsInit()
    {
        // Written here, byte by byte, not by the app's writer: an independent producer of the format.
        var fc1 = Enumerable.Range(0, 128).Select(i => (float)Math.Sin(i)).ToArray();
        var file = HandWrittenSafetensors.Write(("layers.fc1.weight", [64, 2], fc1), ("layers.head.weight", [3, 64], new float[192]), ("extra.scale", [1], [2f]));

        var weights = await UploadAsync(file, "hand.safetensors");
        var match = await MatchAsync(weights.Id, "mlp", "spirals");

        Assert.Equal(["layers.fc1.weight"], match.Matched);
        Assert.Equal(["layers.fc1.bias", "layers.fc2.weight", "layers.fc2.bias", "layers.head.bias"], match.Missing);
        Assert.Equal(["extra.scale"], match.Unexpected);
        var head = Assert.Single(match.ShapeMismatches);
        Assert.Equal("layers.head.weight", head.Name);
        Assert.Equal([2L, 64], head.Expected);
        Assert.Equal([3L, 64], head.Actual);

        var run = await TrainAsync(new { name = "from-hand", dataset = "spirals", model = "mlp", epochs = 1, seed = 9, initialWeights = new { id = weights.Id, freeze = new[] { "layers.fc1.weight" } } });
        Assert.Equal(fc1, Tensors(await ExportLastAsync(run.Id))["layers.fc1.weight"]);
    }

    [Fact]
    public async Task InitialWeights_TorchSaveStateDict_MatchedAndTrained()
    {
        var weights = await UploadAsync(await File.ReadAllBytesAsync(Path.Combine(Fixtures, "state_dict.pt")), "state_dict.pt");
        Assert.Equal("pytorch", weights.Format);
        var match = await MatchAsync(weights.Id, "mlp", "spirals");
        Assert.Equal(["layers.fc1.weight", "layers.fc1.bias", "layers.fc2.weight", "layers.fc2.bias"], match.Matched);
        Assert.Equal(["extra.bias", "extra.weight"], match.Unexpected);

        var run = await TrainAsync(new { name = "from-torch", dataset = "spirals", model = "mlp", epochs = 1, seed = 9, initialWeights = new { id = weights.Id, freeze = new[] { "layers.fc1" } } });
        var expected = MemoryMarshal.Cast<byte, float>(await File.ReadAllBytesAsync(Path.Combine(Fixtures, "fc1_weight.f32"))).ToArray();
        Assert.Equal(expected, Tensors(await ExportLastAsync(run.Id))["layers.fc1.weight"]);
    }

    [Fact]
    public async Task PostWeights_MaliciousPickle_Is400NamingTheGlobal()
    {
        using var response = await Client.PostAsync("api/weights", Form(await File.ReadAllBytesAsync(Path.Combine(Fixtures, "malicious.pt")), "malicious.pt"));

        await AssertFieldErrorAsync(response, "file", "posix.system");
        Assert.False(File.Exists("/tmp/dashboard-pwned"));
    }

    [Theory]
    [InlineData("integer", "'steps'")]
    [InlineData("garbage", "safetensors")]
    public async Task PostWeights_UnusableFile_Is400NamingTheReason(string kind, string expected)
    {
        var file = kind == "integer"
            ? HandWrittenSafetensors.WithHeader("""{"steps":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}""", new byte[8])
            : Encoding.UTF8.GetBytes("this is not a weights file at all");

        using var response = await Client.PostAsync("api/weights", Form(file, "bad.safetensors"));

        await AssertFieldErrorAsync(response, "file", expected);
    }

    [Fact]
    public async Task PostRuns_InitialWeightsWithFreezeCoveringNothingOrUnknownId_Is400()
    {
        var weights = await UploadAsync(await File.ReadAllBytesAsync(Path.Combine(Fixtures, "state_dict.pt")), "state_dict.pt");

        using var freeze = await Client.PostAsJsonAsync("api/runs", new { dataset = "spirals", model = "mlp", epochs = 1, initialWeights = new { id = weights.Id, freeze = new[] { "layers.fc9" } } });
        await AssertFieldErrorAsync(freeze, "initialWeights.freeze", "'layers.fc9'");
        using var unknown = await Client.PostAsJsonAsync("api/runs", new { dataset = "spirals", model = "mlp", epochs = 1, initialWeights = new { id = new string('0', 64) } });
        await AssertFieldErrorAsync(unknown, "initialWeights.id", "no weights file");
    }

    [Fact]
    public async Task ConfigDiff_FineTuneOfARun_ListsWhatChangedAnd404WithoutParent()
    {
        var parent = await TrainAsync(new { name = "diff-parent", dataset = "spirals", model = "mlp", epochs = 1, learningRate = 0.001, seed = 2 });
        var checkpoint = (await fixture.Server.GetCheckpointsAsync(parent.Id)).Single(c => c.Kind == "last");
        using var started = await Client.PostAsJsonAsync($"api/checkpoints/{checkpoint.Id}/finetune", new { epochs = 1, learningRate = 0.0005 });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var child = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetInt32();

        var diff = await Client.GetFromJsonAsync<List<ConfigChangeDto>>($"api/runs/{child}/config-diff", JsonDefaults.Options);

        Assert.Contains(diff!, c => c.Path == "learningRate" && c.Parent == "0.001" && c.Child == "0.0005");
        Assert.Contains(diff!, c => c.Path == "fineTune.resetOptimizer" && c.Parent is null && c.Child == "false");
        Assert.DoesNotContain(diff!, c => c.Path == "dataset");
        using var none = await Client.GetAsync($"api/runs/{parent.Id}/config-diff");
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
    }

    private static async Task AssertFieldErrorAsync(HttpResponseMessage response, string field, string expected)
    {
        var errors = await ProblemAssert.IsValidationProblemAsync(response, field);
        Assert.Contains(errors.GetProperty(field).EnumerateArray(), m => m.GetString()!.Contains(expected, StringComparison.OrdinalIgnoreCase));
    }

    private async Task<RunDto> TrainAsync(object body)
    {
        var run = await fixture.Server.CreateRunAsync(body);
        return await fixture.Server.WaitForRunStatusAsync(run.Id, "completed", TimeSpan.FromSeconds(180));
    }

    private async Task<byte[]> ExportLastAsync(int runId)
    {
        var last = (await fixture.Server.GetCheckpointsAsync(runId)).Single(c => c.Kind == "last");
        return await Client.GetByteArrayAsync($"api/checkpoints/{last.Id}/export?format=safetensors");
    }

    private async Task<WeightsDto> UploadAsync(byte[] file, string name)
    {
        using var response = await Client.PostAsync("api/weights", Form(file, name));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<WeightsDto>(JsonDefaults.Options))!;
    }

    private async Task<WeightsMatchDto> MatchAsync(string id, string model, string dataset)
    {
        using var response = await Client.PostAsJsonAsync($"api/weights/{id}/match", new { model, dataset });
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<WeightsMatchDto>(JsonDefaults.Options))!;
    }

    private async Task AssertLogSaysAsync(int runId, string text) =>
        await Poll.UntilAsync(
            ct => Client.GetFromJsonAsync<List<RunLogLineDto>>($"api/runs/{runId}/log", JsonDefaults.Options, ct),
            lines => lines!.Any(l => l.Message.Contains(text, StringComparison.Ordinal)),
            TimeSpan.FromSeconds(10),
            $"the run log to say '{text}'");

    private static Dictionary<string, float[]> Tensors(byte[] safetensors) =>
        Safetensors.Read(safetensors).Tensors.ToDictionary(t => t.Name, t => t.Data);

    private static MultipartFormDataContent Form(byte[] file, string name) => new() { { new ByteArrayContent(file), "file", name } };
}
