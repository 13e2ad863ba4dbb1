using System.Net.Http.Json;
using System.Text;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;

namespace Dashboard.IntegrationTests;

/// <summary>Requests as a script sends them, byte for byte: bodies are strings so that broken JSON can be sent too.</summary>
internal static class RawHttp
{
    public static async Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        return await client.PostAsync(path, content);
    }

    public static async Task<HttpResponseMessage> PostEmptyAsync(this HttpClient client, string path) =>
        await client.PostAsync(path, content: null);

    /// <summary>The ids of every run, newest first: what "no run was created" is checked against.</summary>
    public static async Task<IReadOnlyList<int>> RunIdsAsync(this DashboardServer server) =>
        [.. (await server.Client.GetFromJsonAsync<List<RunDto>>("api/runs", DashboardServer.Json) ?? []).Select(r => r.Id)];

    /// <summary>Runs started from one checkpoint (branches and fine-tunes).</summary>
    public static async Task<IReadOnlyList<RunDto>> ChildrenOfAsync(this DashboardServer server, int checkpointId) =>
        [.. (await server.Client.GetFromJsonAsync<List<RunDto>>("api/runs", DashboardServer.Json) ?? []).Where(r => r.ParentCheckpointId == checkpointId)];

    public static async Task<CheckpointDto> GetCheckpointAsync(this DashboardServer server, int checkpointId) =>
        await server.Client.GetFromJsonAsync<CheckpointDto>($"api/checkpoints/{checkpointId}", DashboardServer.Json)
        ?? throw new InvalidOperationException($"GET /api/checkpoints/{checkpointId} answered null.");
}
