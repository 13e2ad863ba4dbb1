using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dashboard.Runs.Contracts;
using Dashboard.TestSupport;

namespace Dashboard.IntegrationTests;

/// <summary>
/// The exact-resume test of <see cref="ExactResumeSuite"/> on a CSV regression table uploaded through
/// <c>POST /api/datasets</c>: an MLP killed mid-run (SIGKILL) resumes in a new process and ends bitwise equal, weights
/// and every epoch's metrics, to a run that never stopped; valMae falls; both predict the same from raw rows.
/// </summary>
public sealed class CsvExactResumeTests : ExactResumeSuite
{
    private const string Dataset = "houses-resume";

    // Enough rows and small enough batches that the run is still training when the second checkpoint is seen.
    protected override object Body(string name) => new
    {
        name,
        dataset = Dataset,
        model = "mlp",
        epochs = 5,
        batchSize = 8,
        learningRate = 0.005,
        optimizer = "adam",
        seed = 77,
        checkpoint = new { everyEpochs = 1, everySteps = 50 },
        schedule = new { type = "step", stepEpochs = 2, gamma = 0.5 },
    };

    protected override async Task PrepareAsync()
    {
        using var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(Encoding.UTF8.GetBytes(SyntheticTables.HousePrices(rows: 4000, seed: 7))), "file", "houses.csv" },
            { new StringContent(Dataset), "name" },
            { new StringContent("price"), "target" },
            { new StringContent("x1,x2,city"), "features" },
        };
        using var response = await Server.Client.PostAsync("api/datasets", form);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    protected override async Task AfterResumeAsync(RunDto straight, RunDto resumed)
    {
        var metrics = await Server.GetMetricsAsync(resumed.Id);
        Assert.All(metrics, m => Assert.Null(m.ValAccuracy));
        Assert.True(metrics[^1].ValMae < metrics[0].ValMae, $"valMae {metrics[0].ValMae} → {metrics[^1].ValMae}");

        // A raw row, as a user would type it: both runs' last checkpoints standardise and one-hot it as they trained.
        var row = new { x1 = 10, x2 = "1.5", city = "east" };
        var expected = SyntheticTables.HousePrice(10, 1.5, 2);
        var straightValue = await PredictAsync(straight.Id, row);
        var resumedValue = await PredictAsync(resumed.Id, row);
        Assert.Equal(straightValue, resumedValue);
        Assert.InRange(resumedValue, expected - 3, expected + 3);
    }

    private async Task<double> PredictAsync(int runId, object row)
    {
        var last = (await Server.GetCheckpointsAsync(runId)).Single(c => c.Kind == "last");
        using var response = await Server.Client.PostAsJsonAsync($"api/checkpoints/{last.Id}/predict", new { row });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        return body.GetProperty("value").GetDouble();
    }
}
