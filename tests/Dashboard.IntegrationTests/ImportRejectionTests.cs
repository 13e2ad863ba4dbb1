using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Dashboard.ServerProcess;

namespace Dashboard.IntegrationTests;

/// <summary>
/// Uploads that are not bundles, or are hostile ones, through the real server: each is refused with a 400 (413 when too
/// large) problem that says why, nothing of it is left behind (no run row, no checkpoint folder), and the server goes on.
/// The bundles start from a real export and change one thing.
/// </summary>
[Collection(TrainedServerCollection.Name)]
public sealed class ImportRejectionTests(TrainedServerFixture fixture)
{
    private const long UploadCap = 256L * 1024 * 1024;

    private readonly DashboardServer _server = fixture.Server;

    /// <summary>(case, a word the refusal must contain).</summary>
    public static TheoryData<string, string> RejectedBundles { get; } = new()
    {
        { "not-a-zip", "not a zip" },
        { "empty", "not a zip" },
        { "truncated", "not a zip" },
        { "dot-dot-path", "../evil.sh" },
        { "absolute-path", "/tmp/evil.sh" },
        { "nested-path", "weights/model.safetensors" },
        { "too-many-entries", "entries" },
        { "zip-bomb", "decompresses to more than" },
        { "zip-bomb-understating-its-size", "model-spec.json is not valid" },
        { "sums-not-matching", "SHA-256" },
        { "no-weights", "model.safetensors" },
        { "tensor-shape-not-its-bytes", "layers.fc1.weight" },
        { "tensor-shape-not-the-models", "layers.fc1.weight" },
        { "tensor-named-twice", "model.safetensors" },
        { "tensor-shape-with-null", "layers.fc1.weight" },
        { "tensor-missing", "layers.head.bias" },
        { "spec-huge-model", "parameters" },
        { "spec-null-hidden-sizes", "hiddenSizes" },
        { "spec-unknown-architecture", "transformer" },
        { "config-learning-rate-nan", "learningRate" },
        { "config-unknown-dataset", "imagenet" },
    };

    [Theory]
    [MemberData(nameof(RejectedBundles))]
    public async Task PostImport_HostileOrBrokenBundle_Returns400NamingTheProblemAndLeavesNothing(string name, string expected)
    {
        var upload = Build(name, await ExportedBundleAsync());
        var runsBefore = await _server.RunIdsAsync();
        var foldersBefore = CheckpointDisk.AllFolders(_server.CheckpointDirectory);

        using var content = new ByteArrayContent(upload);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/zip");
        using var response = await _server.Client.PostAsync("api/imports", content);

        var errors = await ProblemAssert.IsValidationProblemAsync(response, "file");
        var message = string.Join(" ", errors.GetProperty("file").EnumerateArray().Select(m => m.GetString()));
        Assert.Contains(expected, message, StringComparison.Ordinal);
        await AssertNothingLeftAsync(runsBefore, foldersBefore);
    }

    [Fact]
    public async Task PostImport_MultipartWithTwoFiles_Returns400NamingFile()
    {
        var bundle = await ExportedBundleAsync();
        using var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(bundle), "file", "a.zip" },
            { new ByteArrayContent(bundle), "file", "b.zip" },
        };
        var runsBefore = await _server.RunIdsAsync();

        using var response = await _server.Client.PostAsync("api/imports", form);

        await ProblemAssert.IsValidationProblemAsync(response, "file");
        Assert.Equal(runsBefore, await _server.RunIdsAsync());
    }

    [Fact]
    public async Task PostImport_ContentLengthOverTheCap_Returns413ProblemWithoutReadingTheBody()
    {
        // Only the headers are sent: the refusal must come from the declared length alone.
        using var tcp = await Uploads.StartImportAsync(_server.BaseAddress, $"Content-Length: {UploadCap + 1}");

        var answer = await Uploads.ReadResponseAsync(tcp.GetStream());

        Assert.StartsWith("HTTP/1.1 413", answer, StringComparison.Ordinal);
        Assert.Contains("application/problem+json", answer, StringComparison.Ordinal);
        Assert.Contains("256 MiB", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostImport_ChunkedUploadOverTheCap_Returns413ProblemAndTheServerStaysUp()
    {
        var runsBefore = await _server.RunIdsAsync();

        // No length up front, so the cap can only be enforced while reading.
        using var content = new StreamContent(new Uploads.ZeroStream(UploadCap + 1));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/zip");
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/imports") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await _server.Client.SendAsync(request);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(runsBefore, await _server.RunIdsAsync());
        Assert.Empty(_server.UploadFiles());
        using var health = await _server.Client.GetAsync("healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private async Task AssertNothingLeftAsync(IReadOnlyList<int> runsBefore, IReadOnlyList<string> foldersBefore)
    {
        Assert.Equal(runsBefore, await _server.RunIdsAsync());
        Assert.Equal(foldersBefore, CheckpointDisk.AllFolders(_server.CheckpointDirectory));
        using var health = await _server.Client.GetAsync("healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private Task<byte[]> ExportedBundleAsync() => _server.Client.GetByteArrayAsync($"api/checkpoints/{fixture.Last.Id}/export?format=bundle");

    private static byte[] Build(string name, byte[] bundle)
    {
        var files = ExportImportApiTests.Unzip(bundle);
        return name switch
        {
            "not-a-zip" => Encoding.UTF8.GetBytes("#!/bin/sh\nrm -rf /\n"),
            "empty" => [],
            "truncated" => bundle[..(bundle.Length / 2)],
            "dot-dot-path" => Zip(files, ("../evil.sh", Encoding.UTF8.GetBytes("echo owned"))),
            "absolute-path" => Zip(files, ("/tmp/evil.sh", Encoding.UTF8.GetBytes("echo owned"))),
            "nested-path" => Zip(Without(files, "model.safetensors"), ("weights/model.safetensors", files["model.safetensors"])),
            "too-many-entries" => Zip([.. Enumerable.Range(0, 40).Select(_ => ("metrics.csv", files["metrics.csv"]))]),
            "zip-bomb" => ZipBomb("model.safetensors", declaredBytes: 600L << 20),

            // Inflating stops at the declared size: the entry is 1 KiB of zeros, which is no JSON, not 600 MiB.
            "zip-bomb-understating-its-size" => ZipBomb("model-spec.json", declaredBytes: 1024),
            "sums-not-matching" => Zip([.. files.Select(f => f.Key == "config.json" ? (f.Key, Encoding.UTF8.GetBytes("{}")) : (f.Key, f.Value))]),
            "no-weights" => WithSums(Without(files, "model.safetensors")),
            "tensor-shape-not-its-bytes" => WithSums(Replace(files, "model.safetensors", EditHeader(files["model.safetensors"], header =>
            {
                var shape = header["layers.fc1.weight"]!["shape"]!.AsArray();
                shape[0] = shape[0]!.GetValue<long>() + 1;
            }))),
            "tensor-shape-not-the-models" => WithSums(Replace(files, "model.safetensors", EditHeader(files["model.safetensors"], header =>
            {
                // Same number of floats, so the bytes fit the header; only the model can tell.
                var shape = header["layers.fc1.weight"]!["shape"]!.AsArray();
                header["layers.fc1.weight"]!["shape"] = new JsonArray(shape[1]!.GetValue<long>(), shape[0]!.GetValue<long>());
            }))),
            "tensor-named-twice" => WithSums(Replace(files, "model.safetensors", EditHeaderText(files["model.safetensors"], text =>
            {
                var entry = JsonNode.Parse(text)!["layers.fc1.bias"]!.ToJsonString();
                return "{\"layers.fc1.bias\":" + entry + "," + text[1..];
            }))),
            "tensor-shape-with-null" => WithSums(Replace(files, "model.safetensors", EditHeader(files["model.safetensors"], header =>
                header["layers.fc1.weight"]!["shape"]!.AsArray()[0] = null))),
            "tensor-missing" => WithSums(Replace(files, "model.safetensors", EditHeader(files["model.safetensors"], header =>
                header.Remove("layers.head.bias")))),
            "spec-huge-model" => WithSums(Replace(files, "model-spec.json", EditJson(files["model-spec.json"], spec =>
                spec["hiddenSizes"] = new JsonArray(8192, 8192, 8192, 8192, 8192, 8192)))),
            "spec-null-hidden-sizes" => WithSums(Replace(files, "model-spec.json", EditJson(files["model-spec.json"], spec => spec["hiddenSizes"] = null))),
            "spec-unknown-architecture" => WithSums(Replace(files, "model-spec.json", EditJson(files["model-spec.json"], spec => spec["architecture"] = "transformer"))),
            "config-learning-rate-nan" => WithSums(Replace(files, "config.json", EditJson(files["config.json"], config => config["learningRate"] = "NaN"))),
            "config-unknown-dataset" => WithSums(Replace(files, "config.json", EditJson(files["config.json"], config => config["dataset"] = "imagenet"))),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
        };
    }

    private static Dictionary<string, byte[]> Without(Dictionary<string, byte[]> files, string name) =>
        files.Where(f => f.Key != name).ToDictionary();

    private static Dictionary<string, byte[]> Replace(Dictionary<string, byte[]> files, string name, byte[] bytes) =>
        files.Select(f => (f.Key, Value: f.Key == name ? bytes : f.Value)).ToDictionary(f => f.Key, f => f.Value);

    /// <summary>The files with SHA256SUMS made to match them, so that the check under test is the one that refuses.</summary>
    private static byte[] WithSums(Dictionary<string, byte[]> files)
    {
        var content = files.Where(f => f.Key != "SHA256SUMS").ToList();
        var sums = string.Concat(content.Select(f => $"{Convert.ToHexStringLower(SHA256.HashData(f.Value))}  {f.Key}\n"));
        return Zip([.. content.Select(f => (f.Key, f.Value)), ("SHA256SUMS", Encoding.UTF8.GetBytes(sums))]);
    }

    private static byte[] Zip(Dictionary<string, byte[]> files, params (string Name, byte[] Bytes)[] extra) =>
        Zip([.. files.Select(f => (f.Key, f.Value)), .. extra]);

    private static byte[] Zip(IEnumerable<(string Name, byte[] Bytes)> entries)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, bytes) in entries)
            {
                using var stream = zip.CreateEntry(name).Open();
                stream.Write(bytes);
            }
        }

        return buffer.ToArray();
    }

    private static byte[] EditJson(byte[] json, Action<JsonObject> edit)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        edit(node);
        return Encoding.UTF8.GetBytes(node.ToJsonString());
    }

    private static byte[] EditHeader(byte[] safetensors, Action<JsonObject> edit) =>
        EditHeaderText(safetensors, text =>
        {
            var header = JsonNode.Parse(text)!.AsObject();
            edit(header);
            return header.ToJsonString();
        });

    /// <summary>Rewrites the JSON header of a safetensors file and keeps its tensor bytes as they are.</summary>
    private static byte[] EditHeaderText(byte[] safetensors, Func<string, string> edit)
    {
        var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(safetensors);
        var header = Encoding.UTF8.GetBytes(edit(Encoding.UTF8.GetString(safetensors, 8, length).TrimEnd()));
        var padded = (header.Length + 7) / 8 * 8;
        var file = new byte[8 + padded + (safetensors.Length - 8 - length)];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)padded);
        header.CopyTo(file, 8);
        file.AsSpan(8 + header.Length, padded - header.Length).Fill((byte)' ');
        safetensors.AsSpan(8 + length).CopyTo(file.AsSpan(8 + padded));
        return file;
    }

    /// <summary>
    /// A zip of one entry whose 600 KB of deflate data inflate to 600 MiB of zeros: the same 1 MiB
    /// block again and again (each ends byte-aligned after a sync flush), then an empty final block. The header declares
    /// <paramref name="declaredBytes"/>, truthfully or not.
    /// </summary>
    private static byte[] ZipBomb(string name, long declaredBytes)
    {
        byte[] segment;
        using (var block = new MemoryStream())
        using (var deflate = new DeflateStream(block, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            deflate.Write(new byte[1 << 20]);
            deflate.Flush();
            segment = block.ToArray();
        }

        var payload = new MemoryStream();
        for (var i = 0; i < 600; i++)
        {
            payload.Write(segment);
        }

        payload.Write([0x03, 0x00]);
        return ForgeZip(name, payload.ToArray(), declaredBytes);
    }

    /// <summary>A one-entry zip written by hand, so its declared sizes can differ from the truth (the CRC is not checked first).</summary>
    private static byte[] ForgeZip(string name, byte[] deflated, long declaredBytes)
    {
        var nameBytes = Encoding.ASCII.GetBytes(name);
        using var zip = new MemoryStream();
        using var w = new BinaryWriter(zip);
        w.Write(0x04034b50u);
        w.Write((ushort)20);
        w.Write((ushort)0);
        w.Write((ushort)8);
        w.Write(0u);
        w.Write(0u);
        w.Write((uint)deflated.Length);
        w.Write((uint)declaredBytes);
        w.Write((ushort)nameBytes.Length);
        w.Write((ushort)0);
        w.Write(nameBytes);
        w.Write(deflated);
        var central = (uint)zip.Position;
        w.Write(0x02014b50u);
        w.Write((ushort)20);
        w.Write((ushort)20);
        w.Write((ushort)0);
        w.Write((ushort)8);
        w.Write(0u);
        w.Write(0u);
        w.Write((uint)deflated.Length);
        w.Write((uint)declaredBytes);
        w.Write((ushort)nameBytes.Length);
        w.Write((ushort)0);
        w.Write((ushort)0);
        w.Write((ushort)0);
        w.Write((ushort)0);
        w.Write(0u);
        w.Write(0u);
        w.Write(nameBytes);
        var centralSize = (uint)zip.Position - central;
        w.Write(0x06054b50u);
        w.Write((ushort)0);
        w.Write((ushort)0);
        w.Write((ushort)1);
        w.Write((ushort)1);
        w.Write(centralSize);
        w.Write(central);
        w.Write((ushort)0);
        w.Flush();
        return zip.ToArray();
    }
}
