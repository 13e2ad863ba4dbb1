using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dashboard.Engine.Models;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using TorchSharp;

namespace Dashboard.IntegrationTests;

/// <summary>
/// Downloads as a script gets them from the real server: each format's content type and file name, safetensors read by
/// hand and compared with the model's own weights, and a bundle that round-trips through an import to the same accuracy.
/// </summary>
[Collection(TrainedServerCollection.Name)]
public sealed class ExportImportApiTests(TrainedServerFixture fixture)
{
    private readonly DashboardServer _server = fixture.Server;

    [Theory]
    [InlineData(null, "application/octet-stream", ".safetensors")]
    [InlineData("safetensors", "application/octet-stream", ".safetensors")]
    [InlineData("torchsharp", "application/octet-stream", ".bin")]
    [InlineData("bundle", "application/zip", ".zip")]
    public async Task Export_EachFormat_AnswersItsContentTypeAndAFileNameNamingRunEpochAndCheckpoint(string? format, string contentType, string extension)
    {
        var checkpoint = fixture.Last;

        using var response = await _server.Client.GetAsync($"api/checkpoints/{checkpoint.Id}/export{(format is null ? "" : $"?format={format}")}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(contentType, response.Content.Headers.ContentType?.MediaType);
        var disposition = response.Content.Headers.ContentDisposition;
        Assert.Equal("attachment", disposition?.DispositionType);
        Assert.Equal($"run{checkpoint.RunId}-epoch{checkpoint.Epoch:D3}-checkpoint{checkpoint.Id}{extension}", disposition?.FileNameStar ?? disposition?.FileName?.Trim('"'));
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(response.Content.Headers.ContentLength, bytes.Length);
        Assert.True(bytes.Length > 8, "The download is empty.");
    }

    [Fact]
    public async Task ExportTorchSharp_IsTheCheckpointsOwnWeightsFile()
    {
        var download = await _server.Client.GetByteArrayAsync($"api/checkpoints/{fixture.Last.Id}/export?format=torchsharp");

        Assert.Equal(CheckpointDisk.FileHash(_server.CheckpointDirectory, fixture.Last, "weights.bin"), Convert.ToHexStringLower(SHA256.HashData(download)));
    }

    [Fact]
    public async Task ExportSafetensors_ParsedByHand_EveryTensorHoldsTheBytesOfTheModelsWeights()
    {
        var file = await _server.Client.GetByteArrayAsync($"api/checkpoints/{fixture.Last.Id}/export?format=safetensors");
        var weights = await _server.Client.GetByteArrayAsync($"api/checkpoints/{fixture.Last.Id}/export?format=torchsharp");

        var (header, data) = ParseByHand(file);
        var metadata = header["__metadata__"];
        Assert.Equal("pt", metadata.GetProperty("format").GetString());
        Assert.Equal(fixture.Last.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture), metadata.GetProperty("epoch").GetString());
        var spec = JsonSerializer.Deserialize<ModelSpec>(metadata.GetProperty("model_spec").GetString()!, DashboardServer.Json)!;
        Assert.Equal(fixture.Run.Model, spec.Architecture);

        // The same architecture in this process, loaded from the TorchSharp export by TorchSharp itself.
        using var scope = torch.NewDisposeScope();
        using var model = ModelRegistry.CreateDefault().Build(spec);
        using (var reader = new BinaryReader(new MemoryStream(weights)))
        {
            model.load(reader);
        }

        var parameters = model.state_dict();
        Assert.Equal(parameters.Keys.Order(StringComparer.Ordinal), header.Keys.Where(k => k != "__metadata__").Order(StringComparer.Ordinal));
        foreach (var (name, tensor) in parameters)
        {
            var entry = header[name];
            Assert.Equal("F32", entry.GetProperty("dtype").GetString());
            Assert.Equal(tensor.shape, entry.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
            var offsets = entry.GetProperty("data_offsets").EnumerateArray().Select(o => o.GetInt32()).ToArray();
            var expected = MemoryMarshal.AsBytes(tensor.detach().cpu().contiguous().data<float>().ToArray().AsSpan()).ToArray();
            Assert.True(expected.AsSpan().SequenceEqual(data.AsSpan(offsets[0], offsets[1] - offsets[0])), $"The bytes of {name} differ from the model's.");
        }
    }

    [Fact]
    public async Task ExportBundle_HoldsTheSafetensorsExportAndSumsThatMatch()
    {
        var bundle = await _server.Client.GetByteArrayAsync($"api/checkpoints/{fixture.Last.Id}/export?format=bundle");
        var safetensors = await _server.Client.GetByteArrayAsync($"api/checkpoints/{fixture.Last.Id}/export?format=safetensors");

        var files = Unzip(bundle);

        Assert.Equal(["MODEL_CARD.md", "SHA256SUMS", "config.json", "metrics.csv", "model-spec.json", "model.safetensors"], files.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(safetensors, files["model.safetensors"]);
        var sums = Encoding.UTF8.GetString(files["SHA256SUMS"]).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split("  ")).ToDictionary(p => p[1], p => p[0]);
        Assert.Equal(files.Keys.Where(k => k != "SHA256SUMS").Order(StringComparer.Ordinal), sums.Keys.Order(StringComparer.Ordinal));
        Assert.All(sums, s => Assert.Equal(s.Value, Convert.ToHexStringLower(SHA256.HashData(files[s.Key]))));
        var csv = Encoding.UTF8.GetString(files["metrics.csv"]).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Enumerable.Range(1, fixture.Last.Epoch).Select(e => e.ToString(System.Globalization.CultureInfo.InvariantCulture)), csv.Skip(1).Select(l => l.Split(',')[0]));
    }

    [Fact]
    public async Task ImportExportedBundle_EvaluatesToTheSameTestResultsAsTheOriginal()
    {
        var bundle = await _server.Client.GetByteArrayAsync($"api/checkpoints/{fixture.Last.Id}/export?format=bundle");

        using var content = new ByteArrayContent(bundle);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        using var response = await _server.Client.PostAsync("api/imports", content);

        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var started = await response.Content.ReadFromJsonAsync<RunStartedDto>(DashboardServer.Json);
        Assert.Equal($"/api/runs/{started!.RunId}", response.Headers.Location?.OriginalString);
        var imported = await _server.GetRunAsync(started.RunId);
        Assert.Equal(("completed", fixture.Run.Dataset, fixture.Run.Model, null), (imported.Status, imported.Dataset, imported.Model, imported.ParentRunId));
        var checkpoint = Assert.Single(await _server.GetCheckpointsAsync(imported.Id));
        Assert.Equal("durable", checkpoint.Status);
        Assert.Null(CheckpointDisk.Problem(_server.CheckpointDirectory, checkpoint));

        var original = await EvaluateAsync(fixture.Last.Id);
        var copy = await EvaluateAsync(checkpoint.Id);

        Assert.Equal(original.GetProperty("samples").GetInt32(), copy.GetProperty("samples").GetInt32());
        Assert.True(original.GetProperty("samples").GetInt32() > 0);
        Assert.Equal(original.GetProperty("accuracy").GetDouble(), copy.GetProperty("accuracy").GetDouble());
        Assert.Equal(original.GetProperty("loss").GetDouble(), copy.GetProperty("loss").GetDouble());
        Assert.Equal(original.GetProperty("confusion").GetRawText(), copy.GetProperty("confusion").GetRawText());
    }

    [Fact]
    public async Task ImportBundleAsMultipartFile_NamesTheRunAfterTheFileAndKeepsEveryTensor()
    {
        var bundle = await _server.Client.GetByteArrayAsync($"api/checkpoints/{fixture.Last.Id}/export?format=bundle");
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(bundle);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        form.Add(file, "file", "my-spirals.zip");

        using var response = await _server.Client.PostAsync("api/imports", form);

        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var started = await response.Content.ReadFromJsonAsync<RunStartedDto>(DashboardServer.Json);
        Assert.Equal("imported my-spirals", (await _server.GetRunAsync(started!.RunId)).Name);
        var checkpoint = Assert.Single(await _server.GetCheckpointsAsync(started.RunId));
        var (originalHeader, originalData) = ParseByHand(await _server.Client.GetByteArrayAsync($"api/checkpoints/{fixture.Last.Id}/export"));
        var (copyHeader, copyData) = ParseByHand(await _server.Client.GetByteArrayAsync($"api/checkpoints/{checkpoint.Id}/export"));
        Assert.Equal(originalData, copyData);
        Assert.Equal(
            originalHeader.Where(h => h.Key != "__metadata__").Select(h => $"{h.Key}={h.Value.GetRawText()}").Order(StringComparer.Ordinal),
            copyHeader.Where(h => h.Key != "__metadata__").Select(h => $"{h.Key}={h.Value.GetRawText()}").Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// The safetensors layout from its specification, without the app's reader: an 8-byte little-endian header length, the
    /// JSON header (padded to 8 bytes), then tensors back to back, covering the data exactly.
    /// </summary>
    internal static (Dictionary<string, JsonElement> Header, byte[] Data) ParseByHand(byte[] file)
    {
        var headerLength = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(file));
        Assert.Equal(0, (8 + headerLength) % 8);
        using var document = JsonDocument.Parse(file.AsMemory(8, headerLength));
        var header = document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone());
        var data = file[(8 + headerLength)..];
        var spans = header.Where(h => h.Key != "__metadata__")
            .Select(h => h.Value.GetProperty("data_offsets").EnumerateArray().Select(o => o.GetInt64()).ToArray())
            .OrderBy(o => o[0])
            .ToList();
        Assert.Equal(0, spans[0][0]);
        Assert.All(spans.Zip(spans.Skip(1)), pair => Assert.Equal(pair.First[1], pair.Second[0]));
        Assert.Equal(data.Length, spans[^1][1]);
        return (header, data);
    }

    internal static Dictionary<string, byte[]> Unzip(byte[] zip)
    {
        using var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
        return archive.Entries.ToDictionary(e => e.FullName, e =>
        {
            using var stream = e.Open();
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            return buffer.ToArray();
        });
    }

    private async Task<JsonElement> EvaluateAsync(int checkpointId)
    {
        using var response = await _server.Client.PostEmptyAsync($"api/checkpoints/{checkpointId}/evaluate");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }
}
