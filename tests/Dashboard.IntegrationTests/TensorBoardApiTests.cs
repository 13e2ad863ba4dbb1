using System.Net;
using Dashboard.Data;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary><c>GET /api/runs/{id}/tensorboard</c>, read back with <see cref="TfEventReader"/>, which shares no code with the writer.</summary>
public sealed class TensorBoardApiTests(DashboardServerFixture fixture) : IClassFixture<DashboardServerFixture>
{
    private readonly DashboardServer _server = fixture.Server;

    [Fact]
    public async Task GetTensorBoard_TrainedRun_EveryRecordValidAndScalarsEqualTheRunsMetricsAndSteps()
    {
        var run = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 3, name: "tensorboard"));
        await _server.WaitForRunStatusAsync(run.Id, "completed", DashboardServer.DefaultRunTimeout);
        var metrics = await _server.GetMetricsAsync(run.Id);
        var steps = await _server.GetStepsAsync(run.Id, "?buckets=5000");
        Assert.False(steps.Downsampled);

        using var response = await _server.Client.GetAsync($"api/runs/{run.Id}/tensorboard");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($"run{run.Id}.tfevents", response.Content.Headers.ContentDisposition?.FileName);
        var events = TfEventReader.Read(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        Assert.Empty(events[0].Scalars);
        Assert.All(events.Skip(1), e => Assert.Single(e.Scalars));
        Assert.All(events, e => Assert.InRange(DateTime.UnixEpoch.AddSeconds(e.WallTime), run.CreatedAt.AddMinutes(-1), DateTime.UtcNow.AddMinutes(1)));

        var read = events.Skip(1).Select(e => (e.Scalars[0].Tag, e.Step, e.Scalars[0].Value)).ToList();
        var expected = metrics.SelectMany(m => new[]
            {
                ("epoch/loss", m.Step, (float)m.Loss),
                ("epoch/valLoss", m.Step, (float)m.ValLoss),
                ("epoch/accuracy", m.Step, (float)m.Accuracy!.Value),
                ("epoch/valAccuracy", m.Step, (float)m.ValAccuracy!.Value),
                ("epoch/learningRate", m.Step, (float)m.LearningRate),
            })
            .Concat(steps.Points.Select(p => ("step/loss", p.Step, (float)p.Loss)))
            .ToList();
        Assert.Equal(expected, read);
    }

    [Fact]
    public async Task Read_OneByteOfTheFileChanged_RejectsTheFile()
    {
        var runId = await _server.SeedRunWithStepsAsync("tensorboard-corrupt", [.. Enumerable.Range(1, 50).Select(s => new StepRow(s, 1, 1.0 / s))]);
        var file = await _server.Client.GetByteArrayAsync($"api/runs/{runId}/tensorboard");
        Assert.Equal(51, TfEventReader.Read(file).Count);

        // A byte of a scalar's value, of a record's length and of a CRC: each must be caught.
        foreach (var index in new[] { file.Length - 6, 0, file.Length - 1 })
        {
            var corrupt = (byte[])file.Clone();
            corrupt[index] ^= 0x01;
            Assert.Throws<InvalidDataException>(() => TfEventReader.Read(corrupt));
        }
    }

    [Fact]
    public void Crc32C_StandardCheckInput_GivesTheCastagnoliCheckValue()
    {
        // The reader's own CRC is checked against the published check value, not against the writer it judges.
        Assert.Equal(0xE3069283u, TfEventReader.Crc32C("123456789"u8));
    }

    [Fact]
    public async Task GetTensorBoard_UnknownRun_Returns404Problem()
    {
        using var response = await _server.Client.GetAsync("api/runs/987654/tensorboard");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
    }
}
