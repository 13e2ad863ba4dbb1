using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Engine.Datasets;
using Dashboard.Web.Components.Pages;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Pages;

public sealed class UploadDatasetTests : DashboardTestContext
{
    private const string Table = "x1,city,price\n1.5,north,10.25\n2.5,south,12.5\n3.5,east,14.75\n4.5,north,16\n";

    [Fact]
    public void ChooseFile_CsvTable_ShowsPreviewWithDetectedKindsAndSavesTheDataset()
    {
        var cut = Render<UploadDataset>();

        cut.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText(Table, "houses.csv", contentType: "text/csv"));

        cut.WaitForAssertion(() => Assert.Equal(["(numeric)", "(categorical)", "(numeric)"], cut.FindAll("[data-testid=column-kind]").Select(k => k.TextContent)));
        Assert.Equal(4, cut.FindAll("[data-testid=dataset-preview] tbody tr").Count);
        Assert.Equal("price", cut.Find("[data-testid=dataset-target]").GetAttribute("value"));

        cut.Find("[data-testid=dataset-task]").Change("regression");
        cut.Find("[data-testid=dataset-save]").Click();

        cut.WaitForAssertion(() => Assert.Contains("Saved 'houses'", cut.Find("[data-testid=dataset-saved]").TextContent, StringComparison.Ordinal));
        Assert.True(Services.GetRequiredService<DatasetRegistry>().TryGet("houses", out var source));
        Assert.True(source.Info.IsRegression);
    }

    [Fact]
    public void ChooseFile_SemicolonSeparated_ShowsTheErrorInThePage()
    {
        var cut = Render<UploadDataset>();

        cut.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText("a;b;y\n1;2;3\n", "semi.csv", contentType: "text/csv"));

        cut.WaitForAssertion(() => Assert.Contains("single column", cut.Find("[data-testid=dataset-error]").TextContent, StringComparison.Ordinal));
        Assert.Empty(cut.FindAll("[data-testid=dataset-preview]"));
    }
}
