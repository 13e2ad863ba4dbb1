using Dashboard.ComponentTests.Support;
using Dashboard.Data.Entities;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using Dashboard.Runs.Evaluation;
using Dashboard.Runs.Launching;
using Dashboard.Runs.Management;
using Microsoft.Extensions.DependencyInjection;

namespace Dashboard.ComponentTests.Services;

/// <summary>
/// The core methods both the checkpoint routes and the run page call, on a real SQLite file and real checkpoint folders:
/// the refusals they share (404, 409, field errors) and the model description the fine-tune form is built from.
/// </summary>
public sealed class CheckpointInspectorTests : DashboardTestContext
{
    private CheckpointInspector Inspector => Services.GetRequiredService<CheckpointInspector>();

    [Fact]
    public async Task DescribeModelAsync_SpiralsMlpRun_ListsTheLaunchersParameterNamesTheirModulesAndTheClasses()
    {
        var run = await Database.AddRunAsync("described");

        var described = await Inspector.DescribeModelAsync(run.Id);

        Assert.True(described.Succeeded, described.Problem);
        var model = described.Value!;
        Assert.True(Services.GetRequiredService<DatasetRegistry>().TryGet("spirals", out var spirals));
        Assert.True(Services.GetRequiredService<ModelRegistry>().TryGet("mlp", out var mlp));
        Assert.Equal(Services.GetRequiredService<FineTunePlanner>().ParameterNames(mlp.DefaultSpec(spirals.Info)), model.ParameterNames);
        Assert.Equal(["layers.fc1", "layers.fc2", "layers.head"], model.Layers);
        Assert.Equal(2, model.ClassCount);
        Assert.Equal(Services.GetRequiredService<DatasetRegistry>().All.Select(d => d.Name), model.Datasets.Select(d => d.Name));
    }

    [Fact]
    public async Task DescribeModelAsync_UnknownRun_ReturnsNotFound()
    {
        var described = await Inspector.DescribeModelAsync(4242);

        Assert.Equal(404, described.Status);
        Assert.Equal("There is no run 4242.", described.Problem);
    }

    [Fact]
    public async Task PredictAsync_InputOfTheWrongSizeOrNotFinite_ReturnsAnInputErrorNamingTheModelsShape()
    {
        var run = await Database.AddRunAsync("predict");
        var checkpoint = await Database.AddCheckpointAsync(run.Id, 1, 0.5);
        await WriteCheckpointFilesAsync(run.Id);

        foreach (float[]? input in new[] { null, new float[] { 0.5f }, [0.5f, 0.5f, 0.5f], [float.NaN, 1f] })
        {
            var refused = await Inspector.PredictAsync(checkpoint.Id, input);

            Assert.Equal(400, refused.Status);
            Assert.Equal(["Send 2 finite numbers (the model's input [2])."], Assert.Contains("input", refused.Errors!));
        }
    }

    [Fact]
    public async Task PredictAsync_UnknownCheckpoint_ReturnsNotFoundBeforeLookingAtTheInput()
    {
        var refused = await Inspector.PredictAsync(4242, null);

        Assert.Equal(404, refused.Status);
        Assert.Equal("There is no checkpoint 4242.", refused.Problem);
    }

    [Fact]
    public async Task EvaluateAsync_DeletedCheckpoint_ReturnsConflict()
    {
        var run = await Database.AddRunAsync("deleted");
        var checkpoint = await Database.AddCheckpointAsync(run.Id, 1, 0.5, status: CheckpointStatus.Deleted);

        var refused = await Inspector.EvaluateAsync(checkpoint.Id);

        Assert.Equal(409, refused.Status);
        Assert.Equal($"Checkpoint {checkpoint.Id} is deleted; only durable checkpoints can be used.", refused.Problem);
    }

    [Fact]
    public async Task ExportAsync_UnknownFormat_IsRefusedAsAFieldErrorBeforeTheCheckpointIsLookedUp()
    {
        var refused = await Services.GetRequiredService<CheckpointExports>().ExportAsync(4242, "onnx");

        Assert.Equal(400, refused.Status);
        Assert.Equal(["Unknown format 'onnx'. Use one of: safetensors, torchsharp, bundle."], Assert.Contains("format", refused.Errors!));
    }

    [Fact]
    public async Task ExportAsync_DurableCheckpoint_NamesTheFileAfterRunEpochAndCheckpoint()
    {
        var run = await Database.AddRunAsync("exported");
        var checkpoint = await Database.AddCheckpointAsync(run.Id, 3, 0.5);
        await WriteCheckpointFilesAsync(run.Id);

        var file = await Services.GetRequiredService<CheckpointExports>().ExportAsync(checkpoint.Id, "torchsharp");

        Assert.True(file.Succeeded, file.Problem);
        Assert.Equal($"run{run.Id}-epoch003-checkpoint{checkpoint.Id}.bin", file.Value!.FileName);
        Assert.Equal((byte[])[1], file.Value.Content);
    }

    [Fact]
    public async Task RequestCheckpointAsync_RunHoldingATrainingSlot_AsksItForACheckpoint()
    {
        var run = await Database.AddRunAsync("training", status: RunStatus.Running);
        using var active = Queue.TryActivate(run.Id)!;

        var accepted = await Services.GetRequiredService<RunService>().RequestCheckpointAsync(run.Id);

        Assert.Equal(202, accepted.Status);
        Assert.True(active.TakeCheckpointRequest());
    }

    [Fact]
    public async Task RequestCheckpointAsync_RunNotTrainingOrUnknown_ReturnsConflictOrNotFound()
    {
        var run = await Database.AddRunAsync("finished");
        var runs = Services.GetRequiredService<RunService>();

        Assert.Equal(409, (await runs.RequestCheckpointAsync(run.Id)).Status);
        Assert.Equal(404, (await runs.RequestCheckpointAsync(4242)).Status);
    }
}
