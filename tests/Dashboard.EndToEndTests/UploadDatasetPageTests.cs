using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using Dashboard.Runs.Datasets;
using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Dashboard.EndToEndTests;

/// <summary>
/// The Upload dataset page in Chromium: a CSV table is previewed (rows, column kinds, target picker), saved and trained on
/// with its chart drawn; an image-folder zip lists its classes before it is saved with the chosen size and colour.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed partial class UploadDatasetPageTests(BrowserFixture fixture)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(150);

    private readonly DashboardServer _server = fixture.Server;

    private static async Task<IPage> OpenUploadPageAsync(BrowserSession session)
    {
        var page = await session.NewPageAsync();
        await page.GotoAsync("datasets/upload");
        await BrowserSession.WaitForInteractiveAsync(page);
        return page;
    }

    [Fact]
    public async Task UploadPage_CsvTable_PreviewsColumnsPicksTargetAndARunOnItDrawsItsChart()
    {
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = await OpenUploadPageAsync(session);

        await page.GetByTestId("dataset-file").SetInputFilesAsync(new FilePayload
        {
            Name = "e2e-houses.csv",
            MimeType = "text/csv",
            Buffer = Encoding.UTF8.GetBytes(SyntheticTables.HousePrices(rows: 300)),
        });

        var preview = page.GetByTestId("dataset-preview");
        await Expect(preview).ToBeVisibleAsync();
        await Expect(preview.Locator("tbody tr").First).ToBeVisibleAsync();
        await Expect(page.GetByTestId("column-kind")).ToHaveTextAsync(["(numeric)", "(numeric)", "(categorical)", "(numeric)", "(categorical)"]);
        await Expect(page.GetByTestId("dataset-name")).ToHaveValueAsync("e2e-houses");
        await page.GetByTestId("dataset-target").SelectOptionAsync("price");
        await page.GetByTestId("dataset-features").FillAsync("x1,x2,city");
        await page.GetByTestId("dataset-features").PressAsync("Tab");
        await page.GetByTestId("dataset-save").ClickAsync();
        await Expect(page.GetByTestId("dataset-saved")).ToContainTextAsync("Saved 'e2e-houses': 300 rows, regression");

        await page.GetByTestId("dataset-saved").GetByRole(AriaRole.Link).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/runs/new$"));
        await BrowserSession.WaitForInteractiveAsync(page);
        await page.GetByTestId("dataset").SelectOptionAsync("e2e-houses");
        await Expect(page.GetByTestId("dataset")).ToHaveValueAsync("e2e-houses");
        await NewRunPageTests.SetNumberAsync(page, "epochs", "3");
        await page.GetByTestId("start").ClickAsync();

        await Expect(page).ToHaveURLAsync(RunUrl());
        var traces = await session.WaitForPlotAsync(page, 3, RunTimeout, "loss", "val_loss");
        var runId = int.Parse(RunUrl().Match(page.Url).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var run = await _server.GetRunAsync(runId);
        Assert.Equal(("e2e-houses", "mlp"), (run.Dataset, run.Model));
        var metrics = await _server.GetMetricsAsync(runId);
        Assert.Equal(metrics.Select(m => (double?)m.Loss), Assert.Single(traces, t => t.Name == "loss").Y);
    }

    [Fact]
    public async Task UploadPage_ImageZip_ListsClassFoldersThenSavesWithTheChosenSizeAndColour()
    {
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = await OpenUploadPageAsync(session);

        await page.GetByTestId("dataset-file").SetInputFilesAsync(new FilePayload
        {
            Name = "e2e-bars.zip",
            MimeType = "application/zip",
            Buffer = SyntheticImages.BarsZip(perClass: 10, size: 16),
        });

        await Expect(page.GetByTestId("image-class")).ToHaveTextAsync([new Regex("horizontal\\s*10"), new Regex("vertical\\s*10")]);
        await Expect(page.GetByTestId("dataset-name")).ToHaveValueAsync("e2e-bars");
        var size = page.GetByTestId("dataset-image-size");
        await size.FillAsync("16");
        await size.PressAsync("Tab");
        await page.GetByTestId("dataset-color").SelectOptionAsync("rgb");
        await page.GetByTestId("dataset-save").ClickAsync();

        await Expect(page.GetByTestId("dataset-saved")).ToContainTextAsync("Saved 'e2e-bars': 20 images in 2 classes");
        var listed = await _server.Client.GetFromJsonAsync<List<DatasetSummaryDto>>("api/datasets", DashboardServer.Json);
        var saved = Assert.Single(listed!, d => d.Name == "e2e-bars");
        Assert.Equal(("images", 2), (saved.Kind, saved.ClassCount));
        Assert.Equal([3, 16, 16], saved.SampleShape);
    }

    [Fact]
    public async Task UploadPage_ZipWithOneClassFolder_ShowsWhyAndSavesNothing()
    {
        await using var session = await BrowserSession.OpenAsync(fixture);
        var page = await OpenUploadPageAsync(session);
        var png = SyntheticImages.Bar(true, 16, new Random(1));

        await page.GetByTestId("dataset-file").SetInputFilesAsync(new FilePayload
        {
            Name = "one-class.zip",
            MimeType = "application/zip",
            Buffer = SyntheticImages.Zip([("cats/1.png", png), ("cats/2.png", png)]),
        });

        await Expect(page.GetByTestId("dataset-error")).ToContainTextAsync("a classifier needs at least 2");
        await Expect(page.GetByTestId("dataset-save")).ToHaveCountAsync(0);
    }

    [GeneratedRegex(@"/runs/(\d+)$")]
    private static partial Regex RunUrl();
}
