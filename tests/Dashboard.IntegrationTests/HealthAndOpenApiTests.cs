using System.Net;
using System.Text.Json;
using Dashboard.ServerProcess;

namespace Dashboard.IntegrationTests;

[Collection(RequestOnlyCollection.Name)]
public sealed class HealthAndOpenApiTests(DashboardServerFixture fixture)
{
    private readonly DashboardServer _server = fixture.Server;

    [Fact]
    public async Task GetHealthz_FreshServer_Returns200Healthy()
    {
        using var response = await _server.Client.GetAsync("healthz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("healthy", body.RootElement.GetProperty("status").GetString());

        // The probe file it writes to prove the checkpoint folder is usable is removed again.
        Assert.Empty(Directory.EnumerateFiles(_server.CheckpointDirectory, ".healthz-*"));
    }

    [Fact]
    public async Task GetOpenApiDocument_FreshServer_ListsTheRunRoutes()
    {
        using var response = await _server.Client.GetAsync("openapi/v1.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var paths = document.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("/api/runs", paths);
        Assert.Contains("/api/runs/{id}", paths);
        Assert.Contains("/api/runs/{id}/stop", paths);
        Assert.Contains("/api/runs/{id}/log", paths);
        Assert.Contains("/healthz", paths);
    }

    [Fact]
    public async Task GetOpenApiDocument_EveryRouteParameter_IsAnIdOrAnOptionNeverAPath()
    {
        // Downloads are found by checkpoint id in the store; no route may take a file or folder name from a client. A
        // dataset's `name` is a key of the dataset registry (letters, digits, '-', '_'), looked up there, never a path.
        using var document = JsonDocument.Parse(await _server.Client.GetStringAsync("openapi/v1.json"));

        var parameters = document.RootElement.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject())
            .Where(operation => operation.Value.ValueKind == JsonValueKind.Object && operation.Value.TryGetProperty("parameters", out _))
            .SelectMany(operation => operation.Value.GetProperty("parameters").EnumerateArray())
            .Select(p => p.GetProperty("name").GetString())
            .Distinct()
            .Order(StringComparer.Ordinal);

        Assert.Equal(
            ["acceptMissing", "after", "archived", "before", "buckets", "dataset", "force", "format", "from", "id", "level", "limit", "mode", "model", "monitor", "name", "order", "q", "runId", "sha256", "sort", "status", "tag", "to"],
            parameters);
    }
}
