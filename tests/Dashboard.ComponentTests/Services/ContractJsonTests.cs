using System.Text.Json;
using Dashboard.ComponentTests.Support;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Management;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Services;

/// <summary>
/// The flags pages read from the DTOs (durable, missing, active, running) are conveniences, not fields: the API's answers
/// and the hub's messages carry the DTOs, and must keep exactly the fields they had.
/// </summary>
public sealed class ContractJsonTests : DashboardTestContext
{
    [Fact]
    public async Task Serialize_CheckpointDto_HasOnlyTheContractsFields()
    {
        var run = await Database.AddRunAsync("json");
        var checkpoint = await Database.AddCheckpointAsync(run.Id, 1, 0.5);

        Assert.Equal(
            ["id", "runId", "epoch", "step", "metrics", "sizeBytes", "sha256", "kind", "pinned", "status", "createdAt"],
            FieldsOf(checkpoint));
    }

    [Fact]
    public async Task Serialize_RunDto_HasNoStatusFlags()
    {
        var run = await Services.GetRequiredService<RunService>().GetAsync((await Database.AddRunAsync("json")).Id);

        var fields = FieldsOf(run!);

        Assert.Contains("status", fields);
        Assert.DoesNotContain("isActive", fields);
        Assert.DoesNotContain("isRunning", fields);
    }

    private static List<string> FieldsOf<T>(T value) =>
        [.. JsonSerializer.SerializeToElement(value, JsonDefaults.Options).EnumerateObject().Select(p => p.Name)];
}
