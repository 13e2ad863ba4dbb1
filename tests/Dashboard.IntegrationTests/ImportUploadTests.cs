using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Xunit.Abstractions;

namespace Dashboard.IntegrationTests;

/// <summary>
/// How the real server receives a bundle: into a temporary file of its data folder while the body arrives, never whole
/// into memory, cut off as soon as it passes the cap, and with no file left once the request is answered, whatever the
/// answer was.
/// </summary>
[Collection(TrainedServerCollection.Name)]
public sealed class ImportUploadTests(TrainedServerFixture fixture, ITestOutputHelper output)
{
    private const long UploadCap = 256L * 1024 * 1024;
    private const int MiB = 1024 * 1024;

    private readonly DashboardServer _server = fixture.Server;

    [Fact]
    public async Task PostImport_BodyHalfSent_IsAlreadyInAFileOfTheUploadFolderThatGoesOnceImported()
    {
        var bundle = await ExportedBundleAsync();
        var half = bundle.Length / 2;
        var rest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var content = new Uploads.PausedContent(bundle, half, rest.Task);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");

        var sending = _server.Client.PostAsync("api/imports", content);
        try
        {
            var files = await Poll.UntilAsync(
                _ => Task.FromResult(_server.UploadFiles()),
                files => files.Count == 1 && new FileInfo(files[0]).Length >= half,
                TimeSpan.FromSeconds(30),
                $"the first {half:N0} of {bundle.Length:N0} bytes in a file of {_server.UploadDirectory}");
            output.WriteLine($"half way: {files[0]} holds {new FileInfo(files[0]).Length:N0} bytes");
        }
        finally
        {
            rest.TrySetResult();
        }

        using var response = await sending;
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var started = (await response.Content.ReadFromJsonAsync<RunStartedDto>(DashboardServer.Json))!;
        Assert.Equal("durable", Assert.Single(await _server.GetCheckpointsAsync(started.RunId)).Status);
        Assert.Empty(_server.UploadFiles());
    }

    [Fact]
    public async Task PostImport_RefusedUploads_LeaveNoFileInTheUploadFolder()
    {
        var bundle = await ExportedBundleAsync();
        var runsBefore = await _server.RunIdsAsync();

        // Refused at different points: by the zip reader after a raw body, by the zip reader after a form's file, by the
        // form reader at a second file with the first already held, and by the form reader half way through its file.
        (string Case, Func<HttpContent> Content)[] uploads =
        [
            ("not a zip", () => Zip(Encoding.UTF8.GetBytes("#!/bin/sh\nrm -rf /\n"))),
            ("a truncated zip in a form", () => Form(("a.zip", bundle[..(bundle.Length / 2)]))),
            ("two files in a form", () => Form(("a.zip", bundle), ("b.zip", bundle))),
            ("a form cut off inside its file", () => FormCutOff(bundle)),
        ];
        foreach (var (name, make) in uploads)
        {
            using var content = make();
            using var response = await _server.Client.PostAsync("api/imports", content);

            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.True(_server.UploadFiles().Count == 0, $"{name} left {string.Join(", ", _server.UploadFiles())}");
        }

        Assert.True(Directory.Exists(_server.UploadDirectory), "The uploads never went through the upload folder.");
        Assert.Equal(runsBefore, await _server.RunIdsAsync());
    }

    [Fact]
    public async Task PostImport_EndlessChunkedBody_Answers413SoonAfterTheCapAndTheServerStaysUp()
    {
        // Raw, so the body goes on for as long as the server reads it and the test sees when the answer came.
        using var tcp = await Uploads.StartImportAsync(_server.BaseAddress, "Transfer-Encoding: chunked");
        var stream = tcp.GetStream();
        var chunk = Encoding.ASCII.GetBytes($"{MiB:x}\r\n").Concat(new byte[MiB]).Concat("\r\n"u8.ToArray()).ToArray();

        var answer = Uploads.ReadResponseAsync(stream);
        long sent = 0;
        using (var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
        {
            while (sent < 2 * UploadCap && !answer.IsCompleted)
            {
                var write = stream.WriteAsync(chunk, deadline.Token).AsTask();
                if (await Task.WhenAny(write, answer) == answer)
                {
                    break;
                }

                try
                {
                    await write;
                    sent += MiB;
                }
                catch (IOException)
                {
                    break; // the server closed a connection whose body it will not read
                }
            }
        }

        var response = await answer;
        output.WriteLine($"{sent / MiB} MiB sent when the answer came: {response.Split("\r\n")[0]}");
        Assert.StartsWith("HTTP/1.1 413", response, StringComparison.Ordinal);
        Assert.Contains("application/problem+json", response, StringComparison.Ordinal);
        Assert.Contains("256 MiB", response, StringComparison.Ordinal);

        // Socket buffers on both ends hold a few MiB at most; more would mean the server went on reading past the cap. The
        // chunk that crossed the cap may still have been on its way when the answer came, so it need not count as sent.
        Assert.InRange(sent, UploadCap - (2L * MiB), UploadCap + (64L * MiB));
        Assert.Empty(_server.UploadFiles());
        using var health = await _server.Client.GetAsync("healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private Task<byte[]> ExportedBundleAsync() => _server.Client.GetByteArrayAsync($"api/checkpoints/{fixture.Last.Id}/export?format=bundle");

    private static ByteArrayContent Zip(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        return content;
    }

    /// <summary>A form whose body ends in the middle of its file: no closing boundary ever comes.</summary>
    private static ByteArrayContent FormCutOff(byte[] bundle)
    {
        var head = Encoding.ASCII.GetBytes("--cut\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.zip\"\r\nContent-Type: application/zip\r\n\r\n");
        var content = new ByteArrayContent([.. head, .. bundle.AsSpan(0, bundle.Length / 2)]);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=cut");
        return content;
    }

    private static MultipartFormDataContent Form(params (string FileName, byte[] Bytes)[] files)
    {
        var form = new MultipartFormDataContent();
        foreach (var (fileName, bytes) in files)
        {
            form.Add(Zip(bytes), "file", fileName);
        }

        return form;
    }
}
