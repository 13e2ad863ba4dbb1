using Bunit;
using Dashboard.ComponentTests.Support;
using Dashboard.Engine.Export;
using Dashboard.Web.Components.Pages;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Pages;

public sealed class ImportTests : DashboardTestContext
{
    [Fact]
    public async Task Upload_NotABundle_ShowsWhyAndLeavesNoFileInTheUploadFolder()
    {
        var spool = Services.GetRequiredService<UploadSpool>();
        var cut = Render<Import>();

        cut.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText("#!/bin/sh\nrm -rf /\n", "bundle.zip", contentType: "application/zip"));

        cut.WaitForAssertion(() => Assert.Contains("not a zip", cut.Find("[data-testid=import-error]").TextContent, StringComparison.Ordinal));
        Assert.Equal(0, await Database.CountRunsAsync());

        // The browser's stream went to a file of the upload folder, not into memory, and that file is gone again.
        Assert.True(Directory.Exists(spool.Folder), $"{spool.Folder} was never made: the upload did not go through it.");
        Assert.Empty(Directory.GetFiles(spool.Folder));
    }

    [Fact]
    public async Task Upload_EveryImportSlotTaken_SaysSoAndImportsNothing()
    {
        var imports = Services.GetRequiredService<Dashboard.Runs.Imports.ImportService>();
        var held = Enumerable.Range(0, Dashboard.Runs.Imports.ImportService.MaxConcurrentImports).Select(_ => imports.TryBeginImport()).ToList();
        try
        {
            Assert.All(held, Assert.NotNull);
            var cut = Render<Import>();

            cut.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText("not a bundle", "bundle.zip", contentType: "application/zip"));

            cut.WaitForAssertion(() => Assert.Contains("imports are already being received or checked", cut.Find("[data-testid=import-error]").TextContent, StringComparison.Ordinal));
            Assert.Equal(0, await Database.CountRunsAsync());
        }
        finally
        {
            held.ForEach(slot => slot?.Dispose());
        }
    }
}
