using Dashboard.Engine.Models;
using Dashboard.Engine.Training.Optimizers;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Dashboard.UnitTests.Engine;

public sealed class OptimizerTests
{
    private const int Features = 12;
    private const int Classes = 4;

    public static TheoryData<string> Names => [.. OptimizerNames.All];

    [Theory]
    [MemberData(nameof(Names))]
    public void Step_SameGradientsAsTorchSharp_GivesTheSameWeights(string name)
    {
        using var data = NewBatch(seed: 3);
        using var ours = Model(seed: 5);
        using var theirs = Model(seed: 5);
        using var optimizer = OptimizerFactory.Create(name, ours.parameters(), 0.01);
        using var reference = TorchSharpOptimizer(name, theirs.parameters(), 0.01);

        for (var step = 0; step < 25; step++)
        {
            TrainStep(ours, data, optimizer.ZeroGrad, optimizer.Step);
            TrainStep(theirs, data, reference.zero_grad, () => reference.step());
        }

        foreach (var ((parameterName, mine), (_, reference2)) in ours.named_parameters().Zip(theirs.named_parameters()))
        {
            Assert.True(allclose(mine, reference2, rtol: 1e-5, atol: 1e-7), $"{name}: {parameterName} differs from TorchSharp's optimizer.");
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void LoadState_SavedMidway_ContinuesBitForBit(string name)
    {
        using var data = NewBatch(seed: 3);
        using var uninterrupted = Model(seed: 5);
        using var continuous = OptimizerFactory.Create(name, uninterrupted.parameters(), 0.01);
        for (var step = 0; step < 10; step++)
        {
            TrainStep(uninterrupted, data, continuous.ZeroGrad, continuous.Step);
        }

        using var resumed = Model(seed: 5);
        using (var warmup = OptimizerFactory.Create(name, resumed.parameters(), 0.01))
        {
            for (var step = 0; step < 5; step++)
            {
                TrainStep(resumed, data, warmup.ZeroGrad, warmup.Step);
            }

            var state = Save(warmup);
            using var restored = OptimizerFactory.Create(name, resumed.parameters(), 0.01);
            using var reader = new BinaryReader(new MemoryStream(state));
            restored.LoadState(reader);
            Assert.Equal(5, restored.StepCount);
            for (var step = 0; step < 5; step++)
            {
                TrainStep(resumed, data, restored.ZeroGrad, restored.Step);
            }

            Assert.Equal(Save(continuous), Save(restored));
        }

        foreach (var (a, b) in uninterrupted.parameters().Zip(resumed.parameters()))
        {
            Assert.True(a.equal(b).all().item<bool>());
        }
    }

    [Fact]
    public void LoadState_OtherOptimizer_RefusesWithAClearMessage()
    {
        using var model = Model(seed: 5);
        using var adam = OptimizerFactory.Create(OptimizerNames.Adam, model.parameters(), 0.01);
        using var sgd = OptimizerFactory.Create(OptimizerNames.Sgd, model.parameters(), 0.01);
        using var reader = new BinaryReader(new MemoryStream(Save(adam)));

        var error = Assert.Throws<InvalidDataException>(() => sgd.LoadState(reader));

        Assert.Contains("'adam'", error.Message);
    }

    [Fact]
    public void LoadState_OtherModelShape_RefusesWithAClearMessage()
    {
        using var model = Model(seed: 5);
        using var wider = GlobalGenerator.Untouched(() => nn.Sequential(("0", nn.Linear(Features, 16)), ("1", nn.ReLU()), ("2", nn.Linear(16, Classes))));
        using var saved = OptimizerFactory.Create(OptimizerNames.Adam, model.parameters(), 0.01);
        using var target = OptimizerFactory.Create(OptimizerNames.Adam, wider.parameters(), 0.01);
        using var reader = new BinaryReader(new MemoryStream(Save(saved)));

        var error = Assert.Throws<InvalidDataException>(() => target.LoadState(reader));

        Assert.Contains("shape", error.Message);
    }

    [Fact]
    public void LoadState_Truncated_RefusesWithAClearMessage()
    {
        using var model = Model(seed: 5);
        using var optimizer = OptimizerFactory.Create(OptimizerNames.Adam, model.parameters(), 0.01);
        var state = Save(optimizer);
        using var reader = new BinaryReader(new MemoryStream(state[..(state.Length - 9)]));

        Assert.Throws<InvalidDataException>(() => optimizer.LoadState(reader));
    }

    internal static void TrainStep(nn.Module<Tensor, Tensor> model, Batch data, Action zeroGrad, Action step)
    {
        using var scope = NewDisposeScope();
        zeroGrad();
        var loss = nn.functional.cross_entropy(model.forward(data.Inputs), data.Targets);
        loss.backward();
        step();
    }

    private static byte[] Save(TrainingOptimizer optimizer) => optimizer.SaveState();

    // Seeded through the engine's lock, as a run seeds: tests run in parallel, and a bare manual_seed could land inside a run's.
    internal static Sequential Model(long seed) =>
        GlobalGenerator.Seeded(seed, () => nn.Sequential(("0", nn.Linear(Features, 8)), ("1", nn.ReLU()), ("2", nn.Linear(8, Classes))));

    internal static Batch NewBatch(long seed)
    {
        using var generator = new Generator((ulong)seed);
        return new Batch(randn([32, Features], generator: generator), randint(Classes, [32], generator: generator));
    }

    internal static optim.Optimizer TorchSharpOptimizer(string name, IEnumerable<Parameter> parameters, double learningRate) => name switch
    {
        OptimizerNames.Sgd => optim.SGD(parameters, learningRate, momentum: OptimizerFactory.SgdMomentum),
        OptimizerNames.Adam => optim.Adam(parameters, learningRate),
        OptimizerNames.AdamW => optim.AdamW(parameters, learningRate, weight_decay: OptimizerFactory.AdamWWeightDecay),
        _ => throw new ArgumentException(name),
    };

    internal sealed record Batch(Tensor Inputs, Tensor Targets) : IDisposable
    {
        public void Dispose()
        {
            Inputs.Dispose();
            Targets.Dispose();
        }
    }
}
