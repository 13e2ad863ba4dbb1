using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Data.Entities;
using Dashboard.Engine.Models;
using Dashboard.Runs.Events;
using Dashboard.Runs.Workers;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using WorkersPage = Dashboard.Web.Components.Pages.Workers;

namespace Dashboard.ComponentTests.Pages;

public sealed class WorkersTests : DashboardTestContext
{
    private WorkerRegistry Registry => Services.GetRequiredService<WorkerRegistry>();

    [Fact]
    public async Task Render_RegisteredWorkers_ListsAliveOnesFirstWithTheirRunsAndWhatTheyTrain()
    {
        await Registry.RegisterAsync(Registration("gpu-1", "cuda", ["gpu"]), CancellationToken.None);
        await Registry.RegisterAsync(Registration("cpu-1", "cpu", ["default", "small"]), CancellationToken.None);
        await Registry.MarkStoppedAsync("cpu-1", CancellationToken.None);
        var run = await Database.AddRunAsync("on gpu", RunStatus.Running, configure: r => r.Worker = "gpu-1");
        await Database.AddRunAsync("done on gpu", RunStatus.Completed, configure: r => r.Worker = "gpu-1");

        var cut = Render<WorkersPage>();

        cut.WaitForAssertion(() => Assert.Equal(["gpu-1", "cpu-1"], cut.FindAll("[data-testid=worker]").Select(r => r.GetAttribute("data-worker"))));
        var gpu = cut.Find("[data-worker='gpu-1']");
        Assert.Equal("alive", gpu.QuerySelector("[data-testid=worker-alive]")!.TextContent);
        Assert.Equal("cuda", gpu.QuerySelector("[data-testid=worker-device]")!.TextContent);
        Assert.Equal([$"runs/{run.Id}"], gpu.QuerySelectorAll("[data-testid=worker-runs] a").Select(a => a.GetAttribute("href")));
        Assert.Contains("spirals", gpu.TextContent);
        Assert.Contains("mlp", gpu.TextContent);
        var cpu = cut.Find("[data-worker='cpu-1']");
        Assert.Equal("stopped", cpu.QuerySelector("[data-testid=worker-alive]")!.TextContent);
        Assert.Contains("default, small", cpu.TextContent);
        Assert.Contains("idle", cpu.QuerySelector("[data-testid=worker-runs]")!.TextContent);
    }

    [Fact]
    public async Task RunStatusChanged_RunClaimedByAWorker_ShowsItWithoutWaitingForTheTimer()
    {
        // The page's refresh timer never fires here, so only the event can bring the run in.
        Services.AddSingleton<TimeProvider>(new TimersThatNeverFire());
        await Registry.RegisterAsync(Registration("cpu-1", "cpu", ["default"]), CancellationToken.None);
        var run = await Database.AddRunAsync("queued", RunStatus.Queued);
        var cut = Render<WorkersPage>();
        cut.WaitForAssertion(() => Assert.Contains("idle", cut.Find("[data-worker='cpu-1'] [data-testid=worker-runs]").TextContent));

        // What RunExecutor.ClaimAsync does: the row names the worker, then the status event goes out.
        await using (var db = Database.CreateContext())
        {
            await db.Runs.Where(r => r.Id == run.Id).ExecuteUpdateAsync(u => u.SetProperty(r => r.Status, RunStatus.Running).SetProperty(r => r.Worker, "cpu-1"));
        }

        Broadcaster.Publish(new RunStatusChangedEvent(run.Id, RunStatus.Running));

        cut.WaitForAssertion(() => Assert.Equal(
            [$"runs/{run.Id}"],
            cut.FindAll("[data-worker='cpu-1'] [data-testid=worker-runs] a").Select(a => a.GetAttribute("href"))));
    }

    [Fact]
    public async Task Render_WorkersWithPluginBuilds_ShowsEachPluginsVersionAndHashPerWorker()
    {
        // Two workers with two builds of one plugin version: only the hash tells them apart.
        var old = new PluginIdentity("wave-plugin", "1.2.0", "aa11" + new string('0', 60));
        var rebuilt = old with { AssemblySha256 = "bb22" + new string('1', 60) };
        var other = new PluginIdentity("tabular-extras", "0.9.1+abc", "cc33" + new string('2', 60));
        await Registry.RegisterAsync(Registration("gpu-1", "cuda", ["gpu"], [old, other]), CancellationToken.None);
        await Registry.RegisterAsync(Registration("gpu-2", "cuda", ["gpu"], [rebuilt]), CancellationToken.None);
        await Registry.RegisterAsync(Registration("cpu-1", "cpu", ["default"]), CancellationToken.None);

        var cut = Render<WorkersPage>();

        cut.WaitForAssertion(() => Assert.Equal(3, cut.FindAll("[data-testid=worker]").Count));
        string[] Plugins(string worker) =>
            [.. cut.FindAll($"[data-worker='{worker}'] [data-testid=worker-plugin]").Select(p => $"{p.TextContent} | {p.GetAttribute("title")}")];
        Assert.Equal(
            [$"wave-plugin 1.2.0 aa1100000000 | sha256 {old.AssemblySha256}", $"tabular-extras 0.9.1+abc cc3322222222 | sha256 {other.AssemblySha256}"],
            Plugins("gpu-1"));
        Assert.Equal([$"wave-plugin 1.2.0 bb2211111111 | sha256 {rebuilt.AssemblySha256}"], Plugins("gpu-2"));
        Assert.Empty(Plugins("cpu-1"));
        Assert.Equal("none", cut.Find("[data-worker='cpu-1'] [data-testid=worker-plugins]").TextContent.Trim());
    }

    [Fact]
    public void Render_NoWorkers_SaysNoneRegistered()
    {
        var cut = Render<WorkersPage>();

        cut.WaitForAssertion(() => Assert.Contains("No worker has registered yet", cut.Find("[data-testid=workers-empty]").TextContent));
    }

    private sealed class TimersThatNeverFire : TimeProvider
    {
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            System.CreateTimer(callback, state, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    private static WorkerRegistry.Registration Registration(string name, string device, string[] queues, PluginIdentity[]? plugins = null) =>
        new(name, "host-1", device, 2, queues, ["spirals", "mnist"], ["mlp", "cnn"], plugins ?? []);
}
