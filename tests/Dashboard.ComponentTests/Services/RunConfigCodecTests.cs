using System.Text.Json;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Policies;
using Dashboard.Engine.Training.Optimizers;
using Dashboard.Runs.Contracts;

namespace Dashboard.ComponentTests.Services;

/// <summary>The one reader and writer of <c>Run.ConfigJson</c>: what it writes reads back whole, and old rows still read.</summary>
public sealed class RunConfigCodecTests
{
    [Fact]
    public void Read_WhatWriteWrote_GivesEveryFieldBack()
    {
        var config = new TrainingConfig
        {
            Dataset = "spirals",
            Model = "mlp",
            Epochs = 12,
            BatchSize = 16,
            LearningRate = 0.05,
            Optimizer = OptimizerNames.Sgd,
            Seed = 7,
            ValidationSplit = 0.25,
            SampleLimit = 300,
            ClassFilter = [0, 1],
            FineTune = new FineTuneSettings { ResetOptimizer = true, Freeze = ["layers.fc1"] },
            Checkpoint = new CheckpointPolicy { EveryEpochs = 2, KeepLast = 3, Monitor = "valAccuracy" },
            Schedule = new ScheduleConfig { Type = ScheduleConfig.Cosine },
            EarlyStopping = new EarlyStoppingConfig { Patience = 4, MinDelta = 0.01 },
        };

        var read = RunConfigCodec.Read(RunConfigCodec.Write(config));

        Assert.Equivalent(config, read, strict: true);
    }

    [Fact]
    public void Read_RowInTheStoredFormat_ReadsItsCamelCaseFieldsAndDefaultsTheRest()
    {
        // A row as the app has always stored it: existing databases must keep reading the same.
        const string stored = """
            {"dataset":"spirals","model":"mlp","epochs":3,"batchSize":16,"learningRate":0.05,"optimizer":"sgd","seed":7,
             "validationSplit":0.2,"sampleLimit":null,"classFilter":[0,1],"fineTune":{"resetOptimizer":true,"freeze":["layers.fc1"]}}
            """;

        var config = RunConfigCodec.Read(stored)!;

        Assert.Equal(("spirals", 3, 16, 0.05, OptimizerNames.Sgd, 7L, 0.2), (config.Dataset, config.Epochs, config.BatchSize, config.LearningRate, config.Optimizer, config.Seed, config.ValidationSplit));
        Assert.Equal([0, 1], config.ClassFilter);
        Assert.Equal(["layers.fc1"], config.FineTune!.Freeze);
        Assert.Equivalent(new CheckpointPolicy(), config.Checkpoint, strict: true);
        Assert.Contains("\"learningRate\":0.05", RunConfigCodec.Write(config), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{\"dataset\":\"spir")]
    [InlineData("[1, 2]")]
    [InlineData("{\"epochs\":\"many\"}")]
    public void Read_TextThatIsNoConfig_ThrowsRatherThanGuessing(string text)
    {
        Assert.ThrowsAny<JsonException>(() => RunConfigCodec.Read(text));
        Assert.ThrowsAny<JsonException>(() => RunConfigCodec.ReadOrDefault(text));
    }

    [Fact]
    public void Read_JsonNull_IsNoConfigAndReadOrDefaultGivesTheDefaults()
    {
        Assert.Null(RunConfigCodec.Read("null"));
        Assert.Equivalent(new TrainingConfig(), RunConfigCodec.ReadOrDefault("null"), strict: true);
    }
}
