using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary>
/// Opening a run page, evaluating, predicting and exporting all build a model in the server process, and layer
/// constructors draw from torch's global generator. Runs started while such requests keep coming must still get the
/// initial weights of their seed: the same curve and final weights as the same run trained on a quiet server.
/// </summary>
public sealed class InspectionDuringStartTests : IAsyncLifetime
{
    // Each start is one chance for an inspection to draw inside the run's seeded build; without the generator's lock and
    // restore, 6 starts caught it in 1 test run of 2 and these 30 in 3 of 3.
    private const int Runs = 30;

    private DashboardServer? _server;

    private DashboardServer Server => _server ?? throw new InvalidOperationException("Start the server first.");

    public async Task InitializeAsync() => _server = await DashboardServer.StartAsync(new Dictionary<string, string>
    {
        ["Training:MaxConcurrentRuns"] = "1",
        ["Training:Device"] = "cpu",
    });

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task RunStarts_WhilePagesOpenAndCheckpointsAreEvaluatedAndExported_TrainAsOnAQuietServer()
    {
        var quiet = await Server.WaitForRunStatusAsync((await Server.CreateRunAsync(Body("quiet"))).Id, "completed", TimeSpan.FromSeconds(120));
        var expected = await CurveAsync(quiet.Id);
        var inspected = (await Server.GetCheckpointsAsync(quiet.Id)).Single(c => c.Kind == "last");

        using var stop = new CancellationTokenSource();
        var inspectors = new[]
        {
            InspectAsync(() => Server.Client.GetAsync($"runs/{quiet.Id}", stop.Token), stop.Token),
            InspectAsync(() => Server.Client.GetAsync($"runs/{quiet.Id}", stop.Token), stop.Token),
            InspectAsync(() => Server.Client.PostAsync($"api/checkpoints/{inspected.Id}/evaluate", null, stop.Token), stop.Token),
            InspectAsync(() => Server.Client.PostAsJsonAsync($"api/checkpoints/{inspected.Id}/predict", new { input = new float[784] }, stop.Token), stop.Token),
            InspectAsync(() => Server.Client.PostAsJsonAsync($"api/checkpoints/{inspected.Id}/predict", new { input = new float[784] }, stop.Token), stop.Token),
            InspectAsync(() => Server.Client.GetAsync($"api/checkpoints/{inspected.Id}/export?format=safetensors", stop.Token), stop.Token),
        };
        var started = new List<int>();
        try
        {
            for (var i = 0; i < Runs; i++)
            {
                started.Add((await Server.CreateRunAsync(Body($"busy {i}"))).Id);
            }

            foreach (var id in started)
            {
                await Server.WaitForRunStatusAsync(id, "completed", TimeSpan.FromSeconds(120));
            }
        }
        finally
        {
            await stop.CancelAsync();
        }

        var requests = await Task.WhenAll(inspectors);
        Assert.All(requests, count => Assert.True(count > 0, "An inspector never got an answer; the test would prove nothing."));
        foreach (var id in started)
        {
            Assert.Equal(expected, await CurveAsync(id));
        }
    }

    /// <summary>Sends one kind of request again and again until stopped; returns how many were answered 200.</summary>
    private static async Task<int> InspectAsync(Func<Task<HttpResponseMessage>> send, CancellationToken stop)
    {
        var answered = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var response = await send();
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                answered++;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
        }

        return answered;
    }

    /// <summary>Every per-epoch figure and the final weights' hash: any change of initial weights shows in both.</summary>
    private async Task<(string Metrics, string Weights)> CurveAsync(int runId)
    {
        var metrics = await Server.GetMetricsAsync(runId);
        var last = (await Server.GetCheckpointsAsync(runId)).Single(c => c.Kind == "last");
        var weights = await Server.Client.GetByteArrayAsync($"api/checkpoints/{last.Id}/export?format=torchsharp");
        return (
            string.Join("; ", metrics.Select(m => FormattableString.Invariant($"{m.Epoch} {m.Step} {m.Loss:R} {m.ValLoss:R} {m.Accuracy:R} {m.ValAccuracy:R}"))),
            Convert.ToHexStringLower(SHA256.HashData(weights)));
    }

    /// <summary>A short MNIST run (about a second), whose seeded build is the MLP the inspectors also build.</summary>
    private static object Body(string name) => new
    {
        name,
        dataset = "mnist",
        model = "mlp",
        epochs = 1,
        batchSize = 64,
        learningRate = 0.002,
        optimizer = "adam",
        seed = 4321,
        sampleLimit = 400,
    };
}
