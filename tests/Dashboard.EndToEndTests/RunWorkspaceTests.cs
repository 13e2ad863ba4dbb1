using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Dashboard.Engine.Checkpoints;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Dashboard.EndToEndTests;

/// <summary>
/// Everyday run management in the browser (issue #15): tag two finished runs on their pages, find them on the list by
/// that tag (a filter the URL keeps), rename one, delete the other with its files, and read the remaining run's log.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class RunWorkspaceTests(BrowserFixture fixture)
{
    /// <summary>For each thing the page shows after a round trip over its circuit, on a machine that may be busy.</summary>
    private const float Wait = 30_000;

    private readonly DashboardServer _server = fixture.Server;

    [Fact]
    public async Task RunWorkspace_TwoFinishedRunsTaggedRenamedAndOneDeleted_ListDiskAndLogAgree()
    {
        // A tag of this test alone: the fixture's server is shared, so other tests' runs must not match the filter.
        var tag = $"sweep-a-{Guid.NewGuid():N}"[..16];
        var kept = await _server.CreateRunAsync(new { name = "e2e-workspace-kept", dataset = "spirals", model = "mlp", epochs = 2 });
        var doomed = await _server.CreateRunAsync(new { name = "e2e-workspace-doomed", dataset = "spirals", model = "mlp", epochs = 2 });

        // A run with another tag, which the filter must leave out (seeded: its training is not what is tested here).
        var bystander = await _server.SeedRunWithStepsAsync("e2e-workspace-bystander", []);
        using (var patched = await _server.Client.PatchAsJsonAsync($"api/runs/{bystander}", new { tags = new[] { "sweep-b" } }))
        {
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        }

        await _server.WaitForRunStatusAsync(kept.Id, "completed");
        await _server.WaitForRunStatusAsync(doomed.Id, "completed");
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = await session.NewPageAsync();
        try
        {
            // Tags, added with each run page's editor.
            foreach (var run in new[] { kept, doomed })
            {
                await OpenRunPageAsync(page, run.Id);
                await page.GetByTestId("edit-run").ClickAsync();
                await page.GetByTestId("edit-tags").FillAsync(tag);
                await page.GetByTestId("save-run").ClickAsync();
                await Expect(page.GetByTestId("run-tags")).ToContainTextAsync(tag, new() { Timeout = Wait });
                Assert.Equal(new[] { tag }, (await _server.GetRunAsync(run.Id)).Tags);
            }

            // The list's tag filter, through its form: exactly these two rows, and a URL that brings them back.
            await page.GotoAsync("/");
            await BrowserSession.WaitForInteractiveAsync(page);
            await Expect(page.Locator($"tr[data-run-id='{bystander}']")).ToHaveCountAsync(1, new() { Timeout = Wait });
            await page.GetByTestId("filter-tag").FillAsync(tag);
            await page.GetByTestId("filter-apply").ClickAsync();
            await Expect(page).ToHaveURLAsync(new Regex($"[?&]tag={Regex.Escape(tag)}(&|$)"), new() { Timeout = Wait });
            await ExpectRowsAsync(page, kept.Id, doomed.Id);
            var filteredUrl = page.Url;
            await page.ReloadAsync();
            await BrowserSession.WaitForInteractiveAsync(page);
            Assert.Equal(filteredUrl, page.Url);
            await ExpectRowsAsync(page, kept.Id, doomed.Id);

            // Rename in place on the run page; the filtered list shows the new name.
            var newName = $"e2e-renamed-{tag}";
            await OpenRunPageAsync(page, kept.Id);
            await page.GetByTestId("edit-run").ClickAsync();
            await page.GetByTestId("edit-name").FillAsync(newName);
            await page.GetByTestId("save-run").ClickAsync();
            await Expect(page.Locator(".page-head h1")).ToHaveTextAsync($"#{kept.Id} {newName}", new() { Timeout = Wait });
            await page.GotoAsync(filteredUrl);
            await Expect(page.Locator($"tr[data-run-id='{kept.Id}']")).ToContainTextAsync(newName, new() { Timeout = Wait });

            // Delete through the page's button and its confirmation: the run's checkpoint folder leaves the disk.
            var folder = CheckpointStore.RunFolder(doomed.Id);
            Assert.True(Directory.Exists(Path.Combine(_server.CheckpointDirectory, folder)), $"The finished run's checkpoints should be on disk in {folder}.");
            Assert.NotEmpty(await _server.GetCheckpointsAsync(doomed.Id));
            await OpenRunPageAsync(page, doomed.Id);
            await page.GetByTestId("delete-run").ClickAsync();
            await Expect(page.GetByTestId("confirm-delete")).ToContainTextAsync($"Delete run #{doomed.Id}", new() { Timeout = Wait });
            await page.GetByTestId("confirm-delete-yes").ClickAsync();
            await Expect(page.GetByTestId("runs-table")).ToBeVisibleAsync(new() { Timeout = Wait });
            await Expect(page.Locator($"tr[data-run-id='{doomed.Id}']")).ToHaveCountAsync(0, new() { Timeout = Wait });
            await Expect(page.Locator($"tr[data-run-id='{kept.Id}']")).ToHaveCountAsync(1, new() { Timeout = Wait });

            // Not renamed to a temporary name and left behind either: nothing of the run's folder remains.
            Assert.DoesNotContain(Directory.GetDirectories(_server.CheckpointDirectory), d => Path.GetFileName(d).StartsWith(folder, StringComparison.Ordinal));
            using (var checkpoints = await _server.Client.GetAsync($"api/runs/{doomed.Id}/checkpoints"))
            {
                Assert.Equal(HttpStatusCode.NotFound, checkpoints.StatusCode);
            }

            Assert.Equal(0, await _server.ReadDatabaseAsync(db => db.Checkpoints.CountAsync(c => c.RunId == doomed.Id)));
            Assert.Equal(0, await _server.ReadDatabaseAsync(db => db.Runs.CountAsync(r => r.Id == doomed.Id)));

            // The kept run's log: closed at first, and once opened it shows the lines the API holds, start to finish.
            var logged = await _server.Client.GetFromJsonAsync<List<RunLogLineDto>>($"api/runs/{kept.Id}/log", DashboardServer.Json) ?? [];
            Assert.Contains(logged, l => l.Message.StartsWith("Started on ", StringComparison.Ordinal));
            Assert.Contains(logged, l => l.Message == "Completed all 2 epochs.");
            await OpenRunPageAsync(page, kept.Id);
            var log = page.GetByTestId("run-log");
            await Expect(log).Not.ToHaveAttributeAsync("open", "");
            await log.Locator("summary").ClickAsync();
            await Expect(log).ToHaveAttributeAsync("open", "", new() { Timeout = Wait });
            var lines = log.GetByTestId("run-log-line");
            await Expect(lines).ToHaveCountAsync(logged.Count, new() { Timeout = Wait });
            await Expect(lines.Locator(".log-message")).ToHaveTextAsync(logged.Select(l => l.Message).ToArray(), new() { Timeout = Wait });
            await Expect(lines.First).ToBeVisibleAsync(new() { Timeout = Wait });
            await Expect(lines.Last).ToContainTextAsync("Completed all 2 epochs.", new() { Timeout = Wait });
        }
        catch (Exception e) when (e is PlaywrightException or TimeoutException)
        {
            throw new InvalidOperationException($"{e.Message}{Environment.NewLine}{session.Diagnostics()}", e);
        }
        finally
        {
            // The kept run is this test's own; the deleted one may still be here when the test failed before deleting it.
            (await _server.Client.DeleteAsync($"api/runs/{kept.Id}?force=true")).Dispose();
            (await _server.Client.DeleteAsync($"api/runs/{doomed.Id}?force=true")).Dispose();
            (await _server.Client.DeleteAsync($"api/runs/{bystander}?force=true")).Dispose();
        }
    }

    private static async Task OpenRunPageAsync(IPage page, int runId)
    {
        await page.GotoAsync($"runs/{runId}");
        await BrowserSession.WaitForInteractiveAsync(page);
        await Expect(page.GetByTestId("run-manage")).ToBeVisibleAsync(new() { Timeout = Wait });
    }

    /// <summary>Waits until the list holds exactly these runs' rows, in any order.</summary>
    private static async Task ExpectRowsAsync(IPage page, params int[] runIds)
    {
        var rows = page.Locator("[data-testid=runs-table] tbody tr");
        await Expect(rows).ToHaveCountAsync(runIds.Length, new() { Timeout = Wait });
        foreach (var id in runIds)
        {
            await Expect(page.Locator($"tr[data-run-id='{id}']")).ToHaveCountAsync(1, new() { Timeout = Wait });
        }
    }
}
