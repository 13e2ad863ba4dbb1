using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Xunit.Abstractions;

namespace Dashboard.IntegrationTests;

/// <summary>
/// The upload folder on disk: a large upload costs the server disk rather than memory, files a crash left there go at
/// the next start without touching a checkpoint, and no room to hold an upload, or to write the imported checkpoint, is a
/// 507 that says the disk is full rather than a 500. Each test owns a server, since it kills it, fills its disk or
/// measures its memory; the bundle comes from the shared trained server.
/// </summary>
[Collection(TrainedServerCollection.Name)]
public sealed class UploadStorageTests(TrainedServerFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private const int MiB = 1024 * 1024;

    private DashboardServer? _server;
    private SmallVolume? _volume;

    private DashboardServer Server => _server ?? throw new InvalidOperationException("The test has not started its server.");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        // Unmounted first: the server's folder cannot be deleted with a volume still mounted inside it.
        _volume?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Restart_UploadsLeftByACrash_AreRemovedAndCheckpointFilesStayUntouched()
    {
        _server = await DashboardServer.StartAsync(new Dictionary<string, string> { ["Training:Device"] = "cpu" });
        var imported = await ImportAsync(Server, await BundleAsync());
        var checkpoint = Assert.Single(await Server.GetCheckpointsAsync(imported));
        var checkpointFiles = FileHashes(Server.CheckpointDirectory);
        Assert.NotEmpty(checkpointFiles);

        // A kill mid-upload leaves the temporary file behind: nobody is left to dispose of it.
        Server.Kill();
        Directory.CreateDirectory(Server.UploadDirectory);
        var stale = new[] { "upload-0123456789abcdef0123456789abcdef.part", "upload-fedcba9876543210fedcba9876543210.part" }
            .Select(name => Path.Combine(Server.UploadDirectory, name))
            .ToList();
        foreach (var file in stale)
        {
            await File.WriteAllBytesAsync(file, new byte[64 * 1024]);
        }

        await Server.RestartAsync();

        Assert.Empty(Server.UploadFiles());
        Assert.Equal(checkpointFiles, FileHashes(Server.CheckpointDirectory));
        var after = await Server.GetCheckpointAsync(checkpoint.Id);
        Assert.Equal(("durable", checkpoint.Sha256), (after.Status, after.Sha256));
        Assert.Null(CheckpointDisk.Problem(Server.CheckpointDirectory, after));
        Assert.Empty(await Server.Client.GetFromJsonAsync<List<OrphanDto>>("api/checkpoints/orphans", DashboardServer.Json) ?? []);
        Assert.Contains("Removed 2 upload(s) left in", Server.Output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task PostImport_NoRoomToHoldTheUpload_Returns507ProblemAndTheServerStaysUp()
    {
        _server = await DashboardServer.StartAsync(new Dictionary<string, string> { ["Training:Device"] = "cpu" });
        Directory.CreateDirectory(Server.UploadDirectory);

        // Nothing else makes a real write fail with ENOSPC (the quota covers only the checkpoint's write), so where no
        // tmpfs can be mounted this test is skipped, and under CI it fails.
        _volume = SmallVolume.MountOrSkip(Server.UploadDirectory, 1024 * 1024);

        using var content = new StreamContent(new Uploads.ZeroStream(4L * 1024 * 1024));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        using var response = await Server.Client.PostAsync("api/imports", content);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InsufficientStorage);
        Assert.StartsWith("The disk is full", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(Server.UploadFiles());
        Assert.Empty(await Server.RunIdsAsync());

        // Room again: the same server takes a bundle.
        _volume.Dispose();
        _volume = null;
        Assert.NotEqual(0, await ImportAsync(Server, await BundleAsync()));
    }

    [Fact]
    public async Task PostImport_CheckpointOverTheQuota_Returns507ProblemAndCreatesNoRun()
    {
        _server = await DashboardServer.StartAsync(new Dictionary<string, string>
        {
            ["Training:Device"] = "cpu",
            ["Storage:QuotaBytes"] = "1024",
        });

        using var content = new ByteArrayContent(await BundleAsync());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        using var response = await Server.Client.PostAsync("api/imports", content);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InsufficientStorage);
        Assert.StartsWith("The disk is full", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(await Server.RunIdsAsync());
        Assert.Empty(CheckpointDisk.AllFolders(Server.CheckpointDirectory));
        Assert.Empty(Server.UploadFiles());
        using var health = await Server.Client.GetAsync("healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task PostImport_BodyOf200MiB_ServerResidentMemoryGrowsByFarLessThanTheBody()
    {
        const long body = 200L * MiB;
        const long allowed = 48L * MiB;

        // A server of its own: one that had received a large body before keeps that memory, and could reuse it unseen.
        _server = await DashboardServer.StartAsync(new Dictionary<string, string> { ["Training:Device"] = "cpu" });
        var pid = Server.ProcessId!.Value;
        HttpResponseMessage response;
        var sampler = ResidentPeak.Start(pid, TimeSpan.FromMilliseconds(20));
        await using (sampler)
        {
            using var content = new StreamContent(new Uploads.ZeroStream(body));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
            content.Headers.ContentLength = body;
            response = await Server.Client.PostAsync("api/imports", content);
        }

        var (before, peak) = (sampler.Before, sampler.Peak);

        using (response)
        {
            output.WriteLine($"resident: {before / (double)MiB:0.0} MiB before, {peak / (double)MiB:0.0} MiB at most while receiving {body / MiB} MiB");
            var errors = await ProblemAssert.IsValidationProblemAsync(response, "file");
            Assert.Contains("not a zip", errors.GetProperty("file")[0].GetString(), StringComparison.Ordinal);
        }

        Assert.True(peak - before < allowed, $"Resident memory grew by {(peak - before) / (double)MiB:0.0} MiB while a {body / MiB} MiB body arrived (allowed {allowed / MiB} MiB).");
        Assert.Empty(Server.UploadFiles());
    }

    private Task<byte[]> BundleAsync() => fixture.Server.Client.GetByteArrayAsync($"api/checkpoints/{fixture.Last.Id}/export?format=bundle");

    private static async Task<int> ImportAsync(DashboardServer server, byte[] bundle)
    {
        using var content = new ByteArrayContent(bundle);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        using var response = await server.Client.PostAsync("api/imports", content);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<RunStartedDto>(DashboardServer.Json))!.RunId;
    }

    /// <summary>Every file under a folder with its SHA-256, by relative path.</summary>
    private static Dictionary<string, string> FileHashes(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(path => Path.GetRelativePath(root, path), path => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
}
