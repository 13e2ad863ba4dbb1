using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Datasets;
using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary>
/// CSV tables through the real server: uploaded over multipart, listed, trained on with the MLP (regression and
/// classification), predicted on from a raw row, and protected from deletion while a run uses them.
/// </summary>
public sealed class DatasetApiTests(DatasetApiTests.SmallUploadsServer fixture) : IClassFixture<DatasetApiTests.SmallUploadsServer>
{
    /// <summary>A dataset size cap of 64 KiB, so the too-large refusal needs no big upload.</summary>
    public sealed class SmallUploadsServer : DashboardServerFixture
    {
        protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
        {
            ["Training:MaxConcurrentRuns"] = "1",
            ["Training:Device"] = "cpu",
            ["Storage:MaxDatasetBytes"] = "65536",
        };
    }

    private HttpClient Client => fixture.Server.Client;

    private static MultipartFormDataContent Form(byte[] csv, params (string Name, string Value)[] fields)
    {
        var form = new MultipartFormDataContent { { new ByteArrayContent(csv), "file", "table.csv" } };
        foreach (var (name, value) in fields)
        {
            form.Add(new StringContent(value), name);
        }

        return form;
    }

    private async Task<DatasetSummaryDto> UploadAsync(string name, string target, string features)
    {
        using var response = await Client.PostAsync("api/datasets", Form(Encoding.UTF8.GetBytes(SyntheticTables.HousePrices()), ("name", name), ("target", target), ("features", features)));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<DatasetSummaryDto>(JsonDefaults.Options))!;
    }

    private async Task<RunDto> TrainAsync(string dataset, int epochs)
    {
        var run = await fixture.Server.CreateRunAsync(new
        {
            name = dataset + "-run",
            dataset,
            model = "mlp",
            epochs,
            batchSize = 32,
            learningRate = 0.01,
            optimizer = "adam",
            seed = 3,
        });
        return await fixture.Server.WaitForRunStatusAsync(run.Id, "completed", TimeSpan.FromSeconds(180));
    }

    [Fact]
    public async Task PostDataset_RegressionTable_TrainsWithFallingValMaeAndPredictsARawRow()
    {
        var dataset = await UploadAsync("houses-reg", "price", "x1,x2,city");
        Assert.Equal(("csv", "regression", 5, null, 600), (dataset.Kind, dataset.Task, dataset.SampleShape.Single(), dataset.ClassCount, dataset.Rows));
        var listed = await Client.GetFromJsonAsync<JsonElement>("api/datasets");
        Assert.Contains(listed.EnumerateArray(), d => d.GetProperty("name").GetString() == "houses-reg" && d.GetProperty("task").GetString() == "regression");
        Assert.Contains(listed.EnumerateArray(), d => d.GetProperty("name").GetString() == "mnist" && d.GetProperty("kind").GetString() == "builtin");

        var run = await TrainAsync("houses-reg", 8);
        var metrics = await fixture.Server.GetMetricsAsync(run.Id);
        Assert.All(metrics, m => Assert.Null(m.Accuracy));
        Assert.True(metrics[^1].ValMae < metrics[0].ValMae / 2, $"valMae {metrics[0].ValMae} → {metrics[^1].ValMae}");
        var raw = await Client.GetStringAsync($"api/runs/{run.Id}/metrics");
        Assert.Contains("\"valMae\"", raw, StringComparison.Ordinal);
        var csv = await Client.GetStringAsync($"api/runs/{run.Id}/metrics?format=csv");
        Assert.EndsWith(",mae,valMae", csv.Split('\n')[0], StringComparison.Ordinal);

        var latest = await Client.GetFromJsonAsync<CheckpointDto>($"api/runs/{run.Id}/checkpoints/latest", JsonDefaults.Options);
        using var predicted = await Client.PostAsJsonAsync($"api/checkpoints/{latest!.Id}/predict", new { row = new { x1 = 10, x2 = "1.5", city = "south" } });
        var prediction = await predicted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(predicted.StatusCode == HttpStatusCode.OK, prediction.ToString());
        var expected = SyntheticTables.HousePrice(10, 1.5, 1);
        Assert.InRange(prediction.GetProperty("value").GetDouble(), expected - 3, expected + 3);
        Assert.False(prediction.TryGetProperty("predicted", out _));

        using var unknownCity = await Client.PostAsJsonAsync($"api/checkpoints/{latest.Id}/predict", new { row = new { x1 = 10, x2 = 1, city = "west" } });
        var errors = await ProblemAssert.IsValidationProblemAsync(unknownCity, "row");
        Assert.Contains("'west'", errors.GetProperty("row")[0].GetString(), StringComparison.Ordinal);

        using var evaluated = await Client.PostAsync($"api/checkpoints/{latest.Id}/evaluate", null);
        var evaluation = await evaluated.Content.ReadFromJsonAsync<JsonElement>();
        Assert.InRange(evaluation.GetProperty("regression").GetProperty("r2").GetDouble(), 0.5, 1);

        using var refused = await Client.DeleteAsync("api/datasets/houses-reg");
        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Conflict);
        Assert.Contains(run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostDataset_ClassificationTable_TrainsWithAccuracyAndCanBeDeletedWhenUnused()
    {
        var dataset = await UploadAsync("houses-band", "band", "x1,x2,city");
        Assert.Equal(("classification", 3), (dataset.Task, dataset.ClassCount));

        var run = await TrainAsync("houses-band", 3);
        var metrics = await fixture.Server.GetMetricsAsync(run.Id);
        Assert.All(metrics, m => Assert.Null(m.ValMae));
        Assert.True(metrics[^1].ValAccuracy > 0.6, $"valAccuracy {metrics[^1].ValAccuracy}");

        await UploadAsync("houses-spare", "band", "x1,x2");
        using var deleted = await Client.DeleteAsync("api/datasets/houses-spare");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var builtin = await Client.DeleteAsync("api/datasets/mnist");
        await ProblemAssert.IsProblemAsync(builtin, HttpStatusCode.Conflict);
    }

    [Theory]
    [InlineData("bad-ragged", "a,b,y\n1,2,3\n4,5\n", "y", "file", "Row 2")]
    [InlineData("bad-target", "a,b,y\n1,2,3\n", "price", "target", "'price'")]
    [InlineData("mnist", "a,b,y\n1,2,3\n", "y", "name", "exists")]
    [InlineData("bad name!", "a,b,y\n1,2,3\n", "y", "name", "letters")]
    [InlineData("bad-header", "a,b,y\n", "y", "file", "no data rows")]
    public async Task PostDataset_BadUpload_Is400NamingTheProblem(string name, string csv, string target, string field, string expected)
    {
        using var response = await Client.PostAsync("api/datasets", Form(Encoding.UTF8.GetBytes(csv), ("name", name), ("target", target)));

        var errors = await ProblemAssert.IsValidationProblemAsync(response, field);
        Assert.Contains(expected, errors.GetProperty(field)[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostDataset_LargerThanTheCap_Is413AndStoresNothing()
    {
        using var response = await Client.PostAsync("api/datasets", Form(Encoding.UTF8.GetBytes(SyntheticTables.HousePrices(rows: 3000)), ("name", "too-big"), ("target", "price")));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        var listed = await Client.GetFromJsonAsync<JsonElement>("api/datasets");
        Assert.DoesNotContain(listed.EnumerateArray(), d => d.GetProperty("name").GetString() == "too-big");
    }
}
