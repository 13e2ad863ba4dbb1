using System.Diagnostics;
using System.Net;
using Dashboard.Data;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.AspNetCore.SignalR.Client;
using static Dashboard.IntegrationTests.HubRecorder;

namespace Dashboard.IntegrationTests;

/// <summary><c>GET /api/runs/{id}/steps</c>: a run's per-step loss, whole or downsampled on the server, and its live summary.</summary>
public sealed class StepsApiTests(DashboardServerFixture fixture) : StepsApiSuite<DashboardServerFixture>(fixture);

/// <summary>The tests of <see cref="StepsApiTests"/> with the server's database on PostgreSQL.</summary>
public sealed class StepsApiPostgresTests(PostgresServerFixture fixture) : StepsApiSuite<PostgresServerFixture>(fixture);

/// <summary>The tests of <see cref="StepsApiTests"/>, run once per storage provider by the classes above.</summary>
public abstract class StepsApiSuite<TFixture> : IClassFixture<TFixture>
    where TFixture : DashboardServerFixture
{
    private const int SeededSteps = 200_000;

    private readonly DashboardServer _server;

    protected StepsApiSuite(TFixture fixture)
    {
        fixture.SkipWhenUnavailable();
        _server = fixture.Server;
    }

    [SkippableFact]
    public async Task GetSteps_TrainedSpiralsRun_ReturnsEveryStepOnceAndProgressSummarisesThem()
    {
        await using var hub = await ConnectAsync(_server);
        await hub.Connection.InvokeAsync("JoinAll");
        var run = await _server.CreateRunAsync(RunBodies.Spirals(epochs: 3, name: "steps-spirals"));
        var events = await hub.WaitForFinalStatusAsync(run.Id, DashboardServer.DefaultRunTimeout);
        var metrics = await _server.GetMetricsAsync(run.Id);

        var steps = await _server.GetStepsAsync(run.Id);

        var total = metrics[^1].Step;
        Assert.Equal((total, false, 1L, total), (steps.Total, steps.Downsampled, steps.From, steps.To));
        Assert.Equal(Enumerable.Range(1, (int)total).Select(s => (long)s), steps.Points.Select(p => p.Step));
        Assert.All(steps.Points, p =>
        {
            Assert.Equal((1, p.Loss, p.Loss), (p.Count, p.Min, p.Max));
            Assert.True(double.IsFinite(p.Loss) && p.Loss > 0, $"step {p.Step} has loss {p.Loss}");
        });

        // Each progress report summarises the steps since the one before, ending at its own step, and they are stored.
        var reports = events.Where(e => e.Name == EpochProgress).Select(e => (ProgressDto)e.Payload).ToList();
        Assert.NotEmpty(reports);
        var previous = 0L;
        foreach (var report in reports)
        {
            var summary = report.Steps ?? throw new InvalidOperationException($"A progress report without steps: {report}");
            var last = report.Step ?? throw new InvalidOperationException($"A progress report without its step: {report}");
            Assert.Equal((previous + 1, last), (summary.Step, summary.Step + summary.Count - 1));
            var covered = steps.Points.Where(p => p.Step >= summary.Step && p.Step <= last).ToList();
            Assert.Equal((covered.Min(p => p.Loss), covered.Max(p => p.Loss)), (summary.Min, summary.Max));
            Assert.Equal(covered.Average(p => p.Loss), summary.Loss, 1e-9);
            previous = last;
        }

        var buckets = await _server.GetStepsAsync(run.Id, "?buckets=7");
        Assert.True(buckets.Downsampled);
        Assert.Equal(7, buckets.Points.Count);
        Assert.Equal(total, buckets.Points.Sum(p => p.Count));
        Assert.Equal(steps.Points.Min(p => p.Loss), buckets.Points.Min(p => p.Min));
        Assert.Equal(steps.Points.Max(p => p.Loss), buckets.Points.Max(p => p.Max));
    }

    [SkippableFact]
    public async Task GetSteps_200kSeededSteps_AnswersWithinTheBucketsKeepingTheExtremesQuickly()
    {
        var random = new Random(5);
        var seeded = Enumerable.Range(1, SeededSteps)
            .Select(s => new StepRow(s, 1 + (s / 1000), 2.5 * Math.Exp(-s / 40_000.0) + (0.05 * random.NextDouble())))
            .ToArray();
        seeded[150_000] = seeded[150_000] with { Loss = 30 };
        seeded[42] = seeded[42] with { Loss = -1 };
        var runId = await _server.SeedRunWithStepsAsync("steps-200k", seeded);
        await _server.GetStepsAsync(runId, "?buckets=1000"); // the first read warms the page cache, as a chart's first draw does

        var clock = Stopwatch.StartNew();
        var whole = await _server.GetStepsAsync(runId, "?buckets=1000");
        clock.Stop();

        Assert.Equal((SeededSteps, true, 1L, (long)SeededSteps), (whole.Total, whole.Downsampled, whole.From, whole.To));
        Assert.InRange(whole.Points.Count, 1, 1000);
        Assert.Equal(SeededSteps, whole.Points.Sum(p => p.Count));
        Assert.Equal(30, whole.Points.Max(p => p.Max));
        Assert.Equal(-1, whole.Points.Min(p => p.Min));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"200,000 steps took {clock.Elapsed.TotalMilliseconds:F0} ms to answer.");

        // Zoomed to 1,000 steps with 2,000 pixels to fill: the raw steps of that range, exactly as stored.
        var zoomed = await _server.GetStepsAsync(runId, "?from=100000&to=100999&buckets=2000");
        Assert.False(zoomed.Downsampled);
        Assert.Equal(seeded[99_999..100_999].Select(s => (s.Step, s.Loss)), zoomed.Points.Select(p => (p.Step, p.Loss)));
    }

    [SkippableTheory]
    [InlineData("?from=-1", "from")]
    [InlineData("?from=abc", "from")]
    [InlineData("?to=1.5", "to")]
    [InlineData("?from=10&to=5", "to")]
    [InlineData("?buckets=0", "buckets")]
    [InlineData("?buckets=5001", "buckets")]
    [InlineData("?buckets=many", "buckets")]
    [InlineData("?from=x&buckets=-3", "from", "buckets")]
    public async Task GetSteps_InvalidQuery_Returns400KeyedByField(string query, params string[] fields)
    {
        using var response = await _server.Client.GetAsync($"api/runs/1/steps{query}");

        await ProblemAssert.IsValidationProblemAsync(response, fields);
    }

    [SkippableFact]
    public async Task GetSteps_UnknownRun_Returns404Problem()
    {
        using var response = await _server.Client.GetAsync("api/runs/987654/steps");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Contains("987654", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
