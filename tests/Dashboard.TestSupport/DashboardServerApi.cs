using System.Net;
using System.Net.Http.Json;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;

namespace Dashboard.TestSupport;

/// <summary>
/// Typed calls of the scripting contract (<c>/api/runs</c>), so tests read as what they check rather than as HTTP.
/// Extension members, because the launcher they extend is shared with the benchmark and knows no contract types.
/// </summary>
public static class DashboardServerApi
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(90);

    private static readonly string[] TerminalStatuses = ["completed", "stopped", "interrupted", "failed"];

    extension(DashboardServer)
    {
        public static TimeSpan DefaultRunTimeout => RunTimeout;
    }

    extension(DashboardServer server)
    {
        /// <summary><c>POST /api/runs</c>; fails with the server's answer unless it is 201.</summary>
        public async Task<RunDto> CreateRunAsync(object body, CancellationToken cancellationToken = default)
        {
            using var response = await server.Client.PostAsJsonAsync("api/runs", body, DashboardServer.Json, cancellationToken);
            if (response.StatusCode != HttpStatusCode.Created)
            {
                throw new HttpRequestException(
                    $"POST /api/runs answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}",
                    null,
                    response.StatusCode);
            }

            return await response.Content.ReadFromJsonAsync<RunDto>(DashboardServer.Json, cancellationToken)
                ?? throw new InvalidOperationException("POST /api/runs answered 201 without a body.");
        }

        public async Task<RunDto> GetRunAsync(int id, CancellationToken cancellationToken = default) =>
            await server.Client.GetFromJsonAsync<RunDto>($"api/runs/{id}", DashboardServer.Json, cancellationToken)
            ?? throw new InvalidOperationException($"GET /api/runs/{id} answered null.");

        public async Task<IReadOnlyList<MetricDto>> GetMetricsAsync(int id, CancellationToken cancellationToken = default) =>
            await server.Client.GetFromJsonAsync<List<MetricDto>>($"api/runs/{id}/metrics", DashboardServer.Json, cancellationToken) ?? [];

        /// <summary><c>GET /api/runs/{id}/steps</c> with an optional query such as <c>?from=10&amp;buckets=500</c>.</summary>
        public async Task<StepSeriesDto> GetStepsAsync(int id, string query = "", CancellationToken cancellationToken = default) =>
            await server.Client.GetFromJsonAsync<StepSeriesDto>($"api/runs/{id}/steps{query}", DashboardServer.Json, cancellationToken)
            ?? throw new InvalidOperationException($"GET /api/runs/{id}/steps answered null.");

        public async Task<IReadOnlyList<CheckpointDto>> GetCheckpointsAsync(int id, CancellationToken cancellationToken = default) =>
            await server.Client.GetFromJsonAsync<List<CheckpointDto>>($"api/runs/{id}/checkpoints", DashboardServer.Json, cancellationToken) ?? [];

        /// <summary><c>POST /api/runs/{id}/stop</c>; returns the response for the caller to check.</summary>
        public Task<HttpResponseMessage> StopRunAsync(int id, CancellationToken cancellationToken = default) =>
            server.Client.PostAsync($"api/runs/{id}/stop", content: null, cancellationToken);

        /// <summary>
        /// Polls <c>GET /api/runs/{id}</c> until the run has <paramref name="status"/>. Gives up at once when the run reaches a
        /// different final state (a failed run will never complete), with its error and the server's output in the message.
        /// </summary>
        public Task<RunDto> WaitForRunStatusAsync(int id, string status, TimeSpan? timeout = null) =>
            server.WaitForRunAsync(
                id,
                run => run.Status == status,
                $"run {id} to be {status}",
                timeout,
                run => run.Status != status && TerminalStatuses.Contains(run.Status)
                    ? $"run {id} ended {run.Status} (error: {run.Error ?? "none"})"
                    : null);

        /// <summary>Polls <c>GET /api/runs/{id}</c> until <paramref name="condition"/> holds.</summary>
        public Task<RunDto> WaitForRunAsync(int id, Func<RunDto, bool> condition, string description, TimeSpan? timeout = null, Func<RunDto, string?>? isFailed = null) =>
            Poll.UntilAsync(
                ct => server.GetRunAsync(id, ct),
                condition,
                timeout ?? RunTimeout,
                description,
                isFailed,
                () => server.OutputTail());

        /// <summary>Waits until a run trains and has at least <paramref name="count"/> durable checkpoints.</summary>
        public async Task<IReadOnlyList<CheckpointDto>> WaitForCheckpointsAsync(int id, int count, TimeSpan? timeout = null)
        {
            await server.WaitForRunStatusAsync(id, "running", timeout);
            return await Poll.UntilAsync(
                ct => server.GetCheckpointsAsync(id, ct),
                list => list.Count(c => c.Status == "durable") >= count,
                timeout ?? RunTimeout,
                $"run {id} to have {count} durable checkpoint(s)",
                diagnostics: () => server.OutputTail());
        }
    }
}
