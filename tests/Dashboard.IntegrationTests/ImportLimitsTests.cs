using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Xunit.Abstractions;

namespace Dashboard.IntegrationTests;

/// <summary>
/// What an import may cost the real server: a tiny bundle declaring an enormous model is refused at once, at most two
/// imports are taken at a time, a large valid one is checked without holding it in memory, and a client that goes away
/// while its import is being stored leaves either the whole imported run or nothing.
/// </summary>
public sealed class ImportLimitsTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const long MiB = 1024 * 1024;

    // Refused with a 400 in an instant once it gets a slot, so a 429 can only come from the slots being taken.
    private static readonly byte[] NotAZip = "not a zip"u8.ToArray();

    private DashboardServer _server = null!;

    // A server per test: the memory test must not see what another test's import left in the heap.
    public async Task InitializeAsync() => _server = await DashboardServer.StartAsync(new Dictionary<string, string>
    {
        ["Training:Device"] = "cpu",
        ["Training:TorchThreads"] = "1",
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task PostImport_OneKilobyteBundleDeclaringSeventeenGigabytes_Answers400WithinASecond()
    {
        var bundle = TestBundles.SeventeenGigabyteSpec();
        Assert.True(bundle.Length < 1024, $"The bundle has {bundle.Length} bytes.");
        using (var warmUp = await PostAsync(bundle))
        {
            // The first request pays for compiling the route; the second is the one timed.
            Assert.Equal(HttpStatusCode.BadRequest, warmUp.StatusCode);
        }

        var clock = Stopwatch.StartNew();
        using var response = await PostAsync(bundle);
        clock.Stop();

        var errors = await ProblemAssert.IsValidationProblemAsync(response, "file");
        Assert.Contains("4,294,968,650 parameters", errors.GetProperty("file")[0].GetString(), StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"The answer took {clock.Elapsed}.");
    }

    [Fact]
    public async Task PostImport_TwoImportsInFlight_ThirdAnswers429UntilOneEnds()
    {
        var held = new List<System.Net.Sockets.TcpClient>();
        try
        {
            for (var i = 0; i < 2; i++)
            {
                var tcp = await Uploads.StartImportAsync(_server.BaseAddress, "Content-Length: 1000000");
                held.Add(tcp);
                await tcp.GetStream().WriteAsync(new byte[1000]);
            }

            // Both are inside the route once each has its file in the spool.
            await Poll.UntilAsync(_ => Task.FromResult(_server.UploadFiles()), f => f.Count == 2, TimeSpan.FromSeconds(30), "two uploads in the spool");

            using (var refused = await PostAsync(NotAZip))
            {
                await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.TooManyRequests);
                Assert.NotNull(refused.Headers.RetryAfter);
            }

            held[0].Dispose();
            var status = await Poll.UntilAsync(
                async _ =>
                {
                    using var response = await PostAsync(NotAZip);
                    return response.StatusCode;
                },
                s => s != HttpStatusCode.TooManyRequests,
                TimeSpan.FromSeconds(30),
                "a slot freed by the abandoned upload");
            Assert.Equal(HttpStatusCode.BadRequest, status);
        }
        finally
        {
            held.ForEach(t => t.Dispose());
        }
    }

    [Fact]
    public async Task PostImport_LargeValidBundle_ServerResidentMemoryGrowsByLessThanEightTimesItsWeights()
    {
        // 23 million parameters, 88 MiB of weights. What an import must hold: the model, its weights serialised for the
        // checkpoint (TorchSharp's writer copies each tensor once more on the way), and the runtime's first use of the
        // import path; measured here at about 6.5 times the weights. Inflating entries into memory (a growing buffer and
        // its copy) and reading every tensor into an array before building took it to about 10 times.
        var bundle = TestBundles.SpiralsMlp([8192, 2800], seed: 1);
        var weights = bundle.Length;
        var pid = _server.ProcessId!.Value;
        HttpResponseMessage response;
        var sampler = ResidentPeak.Start(pid, TimeSpan.FromMilliseconds(10));
        await using (sampler)
        {
            response = await PostLargeAsync(bundle);
        }

        var (before, peak) = (sampler.Before, sampler.Peak);

        using (response)
        {
            Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        }

        output.WriteLine($"resident: {before / (double)MiB:0.0} MiB before, {peak / (double)MiB:0.0} MiB at most while importing {weights / (double)MiB:0.0} MiB");
        Assert.True(
            peak - before < 8L * weights,
            $"Resident memory grew by {(peak - before) / (double)MiB:0.0} MiB importing a bundle of {weights / (double)MiB:0.0} MiB (allowed eight times that).");
        Assert.Empty(_server.UploadFiles());
    }

    [Fact]
    public async Task PostImport_ClientGoneWhileTheCheckpointIsWritten_LeavesTheWholeRunOrNothing()
    {
        var bundle = TestBundles.SpiralsMlp([8192, 2800], seed: 2);
        var runsBefore = await _server.RunIdsAsync();
        using var abort = new CancellationTokenSource();
        using var content = new ByteArrayContent(bundle);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        using var client = LongClient();
        var sending = client.PostAsync("api/imports", content, abort.Token);

        // The moment the store starts the checkpoint's folder, the client goes away.
        var writing = await Poll.UntilAsync(
            _ => Task.FromResult(Directory.Exists(_server.CheckpointDirectory)
                ? Directory.GetDirectories(_server.CheckpointDirectory, "*.tmp-*", SearchOption.AllDirectories)
                : []),
            folders => folders.Length > 0,
            TimeSpan.FromSeconds(60),
            "the imported checkpoint's folder being written",
            interval: TimeSpan.FromMilliseconds(2));
        await abort.CancelAsync();
        output.WriteLine($"client gone while {writing[0]} was written");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);

        // Whatever the server made of it, it is settled within a few seconds: every new run has its durable checkpoint,
        // and no checkpoint folder is without its row.
        await Poll.UntilAsync(
            _ => Task.FromResult(Directory.GetDirectories(_server.CheckpointDirectory, "*.tmp-*", SearchOption.AllDirectories)),
            folders => folders.Length == 0,
            TimeSpan.FromSeconds(30),
            "no checkpoint write in flight");
        await Task.Delay(TimeSpan.FromSeconds(1));
        var newRuns = (await _server.RunIdsAsync()).Except(runsBefore).ToList();
        foreach (var runId in newRuns)
        {
            Assert.Equal("durable", Assert.Single(await _server.GetCheckpointsAsync(runId)).Status);
        }

        var orphans = await _server.Client.GetFromJsonAsync<List<object>>("api/checkpoints/orphans", DashboardServer.Json);
        Assert.Empty(orphans!);
        output.WriteLine(newRuns.Count == 0 ? "the import was undone" : $"the import finished as run {newRuns[0]}");
    }

    private async Task<HttpResponseMessage> PostAsync(byte[] bundle)
    {
        using var content = new ByteArrayContent(bundle);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        return await _server.Client.PostAsync("api/imports", content);
    }

    private HttpClient LongClient() => new() { BaseAddress = _server.BaseAddress, Timeout = TimeSpan.FromMinutes(5) };

    /// <summary>
    /// Posts with a client of its own: receiving, unpacking, checking and storing (with fsync) 88 MiB can pass the shared
    /// client's 30 s on a machine busy with other builds, and a timeout says nothing about memory.
    /// </summary>
    private async Task<HttpResponseMessage> PostLargeAsync(byte[] bundle)
    {
        using var client = LongClient();
        using var content = new ByteArrayContent(bundle);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        return await client.PostAsync("api/imports", content);
    }
}
