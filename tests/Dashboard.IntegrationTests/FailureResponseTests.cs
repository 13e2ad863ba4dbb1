using System.Net;
using System.Net.Http.Headers;
using Dashboard.Data;
using Dashboard.Runs.Checkpoints;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.Data.Sqlite;

namespace Dashboard.IntegrationTests;

/// <summary>
/// A secured server of its own, handed over as soon as it answers, so a test can damage the checkpoint folder before the
/// start-up audit walks it (an unreadable folder under the audit once ended the whole process).
/// </summary>
public sealed class DamageableServerFixture : IAsyncLifetime
{
    private DashboardServer? _server;

    public DashboardServer Server => _server ?? throw new InvalidOperationException("The fixture has not started its server.");

    public async Task InitializeAsync()
    {
        _server = await DashboardServer.StartAsync(
            new Dictionary<string, string> { ["Security:AccessToken"] = SecuredServerFixture.Token, ["Training:Device"] = "cpu" });
        StartedAt = DateTime.UtcNow;
    }

    /// <summary>When the server first answered; its start-up audit begins within <c>StartDelay</c> of this.</summary>
    public DateTime StartedAt { get; private set; }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>
/// What a secured dashboard answers when something on the server breaks: the 500s and 503s carry the same security
/// headers as any answer, and the open health probe keeps server paths to signed-in callers. Each test damages its own
/// part of this class's server (a table, the checkpoint folder), so the server is not shared with other classes.
/// </summary>
public sealed class FailureResponseTests(DamageableServerFixture fixture) : IClassFixture<DamageableServerFixture>
{
    private readonly DashboardServer _server = fixture.Server;
    private readonly DateTime _serverStartedAt = fixture.StartedAt;

    [Fact]
    public async Task UnhandledError_TableMissing_Answers500WithTheSecurityHeaders()
    {
        // A genuine unhandled error, no test-only route: a database that lost a table (a damaged or foreign file) makes
        // the metrics route's query throw inside EF Core, and the exception handler writes the 500.
        var runId = await _server.SeedRunWithStepsAsync("failure-metrics", []);
        await using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder(SqliteSetup.ConnectionString(_server.DatabasePath)) { Pooling = false }.ToString()))
        {
            await connection.OpenAsync();
            await using var drop = connection.CreateCommand();
            drop.CommandText = "DROP TABLE EpochMetrics";
            await drop.ExecuteNonQueryAsync();
        }

        using var client = Client(SecuredServerFixture.Token);
        using var response = await client.GetAsync($"api/runs/{runId}/metrics");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self'", csp);
        Assert.Contains("connect-src 'self';", csp);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.True(_server.IsRunning, $"The server died of the error.{Environment.NewLine}{_server.OutputTail()}");
    }

    [Fact]
    public async Task Healthz_CheckpointFolderBroken_TellsWhatFailedButServerPathsOnlyToTheSignedIn()
    {
        // A file where the checkpoint folder should be: the probe's write fails with a message naming the full path.
        var folder = _server.CheckpointDirectory;
        var moved = folder + ".moved";
        Directory.Move(folder, moved);
        await File.WriteAllTextAsync(folder, "not a folder");
        try
        {
            using var anonymous = Client(token: null);
            using var open = await anonymous.GetAsync("healthz");
            var openBody = await open.Content.ReadAsStringAsync();

            using var signedIn = Client(SecuredServerFixture.Token);
            using var detailed = await signedIn.GetAsync("healthz");
            var detailedBody = await detailed.Content.ReadAsStringAsync();

            Assert.Equal(HttpStatusCode.ServiceUnavailable, open.StatusCode);
            Assert.Contains("unhealthy", openBody, StringComparison.Ordinal);
            Assert.Contains("The checkpoint folder is not writable.", openBody, StringComparison.Ordinal);
            Assert.DoesNotContain(_server.RootDirectory, openBody, StringComparison.Ordinal);
            Assert.DoesNotContain(".healthz-", openBody, StringComparison.Ordinal);
            Assert.True(open.Headers.Contains("Content-Security-Policy"));

            Assert.Equal(HttpStatusCode.ServiceUnavailable, detailed.StatusCode);
            Assert.Contains(_server.CheckpointDirectory, detailedBody, StringComparison.Ordinal);

            // The start-up audit meets the broken folder too (it starts within StartDelay of the server answering; the
            // margin covers a loaded machine): it reports and the server keeps serving.
            var auditPassed = _serverStartedAt + CheckpointAuditService.StartDelay + TimeSpan.FromSeconds(5);
            if (auditPassed > DateTime.UtcNow)
            {
                await Task.Delay(auditPassed - DateTime.UtcNow);
            }

            Assert.True(_server.IsRunning, $"The server died under the audit.{Environment.NewLine}{_server.OutputTail()}");
            using var after = await anonymous.GetAsync("healthz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, after.StatusCode);
        }
        finally
        {
            File.Delete(folder);
            Directory.Move(moved, folder);
        }
    }

    private HttpClient Client(string? token)
    {
        var client = new HttpClient { BaseAddress = _server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }
}
