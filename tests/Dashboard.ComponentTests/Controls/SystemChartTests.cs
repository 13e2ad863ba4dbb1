using System.Text.Json;
using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Data.Entities;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Web.Components.Controls;

namespace Dashboard.ComponentTests.Controls;

/// <summary>The run page's system chart: stored samples drawn first, later ones appended live through extendTraces.</summary>
public sealed class SystemChartTests : DashboardTestContext
{
    private static readonly TimeSpan WaitTimeout = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Render_StoredSamplesThenALiveOne_DrawsThemThenExtendsEveryTrace()
    {
        var run = await Database.AddRunAsync("system", RunStatus.Running);
        var start = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        await using (var db = Database.CreateContext())
        {
            db.RunSystemSamples.AddRange(
                new RunSystemSample { RunId = run.Id, Time = start, CpuPercent = 40, RssBytes = 300L << 20, TorchThreads = 2, SamplesPerSecond = 900 },
                new RunSystemSample { RunId = run.Id, Time = start.AddSeconds(5), CpuPercent = 60, RssBytes = 310L << 20, TorchThreads = 2, SamplesPerSecond = 1100 });
            await db.SaveChangesAsync();
        }

        var cut = Render<SystemChart>(parameters => parameters.Add(p => p.RunId, run.Id).Add(p => p.ChartId, "system"));

        var traces = (await WaitForAsync(() => Plotly.RawPlots.Count > 0 ? Plotly.RawPlots[0].Data : (JsonElement?)null, "newPlot")).EnumerateArray().ToList();
        Assert.Equal(["CPU %", "samples/s", "memory MiB"], traces.Select(t => t.GetProperty("name").GetString()));
        Assert.Equal([40.0, 60.0], Ys(traces[SystemChart.CpuTrace]));
        Assert.Equal([900.0, 1100.0], Ys(traces[SystemChart.ThroughputTrace]));
        Assert.Equal([300.0, 310.0], Ys(traces[SystemChart.MemoryTrace]));
        Assert.Contains("process-wide", cut.Find("[data-testid=system-caption]").TextContent, StringComparison.Ordinal);

        Broadcaster.Publish(new SystemSampleEvent(run.Id, new SystemSampleDto(start.AddSeconds(10), 75, 320L << 20, 2, 1200)));

        var extension = await WaitForAsync(() => Plotly.RawExtensions.Count > 0 ? Plotly.RawExtensions[0] : (JsonElement?)null, "extendTraces");
        Assert.Equal([0, 1, 2], extension[3].EnumerateArray().Select(i => i.GetInt32()));
        Assert.Equal([[75.0], [1200.0], [320.0]], extension[2].EnumerateArray().Select(Numbers));
        cut.WaitForAssertion(() => Assert.Equal(3, cut.Instance.SampleCount));
    }

    // Polled, and read raw: a JS call causes no render for bUnit's WaitFor helpers to wake up on, and the x values are dates.
    private static async Task<JsonElement> WaitForAsync(Func<JsonElement?> call, string name)
    {
        for (var deadline = DateTime.UtcNow + WaitTimeout; DateTime.UtcNow < deadline; await Task.Delay(20))
        {
            if (call() is { } found)
            {
                return found;
            }
        }

        throw new TimeoutException($"No {name} call arrived.");
    }

    private static double[] Ys(JsonElement trace) => Numbers(trace.GetProperty("y"));

    private static double[] Numbers(JsonElement array) => [.. array.EnumerateArray().Select(v => Math.Round(v.GetDouble(), 6))];
}
