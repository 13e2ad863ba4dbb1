using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using Dashboard.UnitTests.Support;

namespace Dashboard.UnitTests.Engine;

/// <summary>
/// A run's initial weights are a pure function of its seed even while the same process builds models for inspection
/// (a run page asks for parameter names, evaluation, export and import build the checkpoint's model).
/// </summary>
public sealed class GlobalGeneratorTests
{
    private static ModelSpec MnistMlp => TestEngine.Models.All.Single(a => a.Name == "mlp")
        .DefaultSpec(TestEngine.Datasets.Get(MnistDataset.DatasetName).Info);

    [Fact]
    public void Build_ForInspection_LeavesTheGlobalGeneratorAsItWas()
    {
        // Inside a seeded section (the lock is re-entrant), so a test on another thread cannot draw between the two reads.
        var (before, after) = GlobalGenerator.Seeded(3, () =>
        {
            var before = GlobalGenerator.State();
            using (TestEngine.Models.Build(MnistMlp))
            {
            }

            return (before, GlobalGenerator.State());
        });

        Assert.Equal(before, after);
    }

    [Fact]
    public void Build_ForInspectionWhileAnotherThreadBuildsSeeded_SeededWeightsStayThoseOfTheSeed()
    {
        // Deterministic in what it guards: with the lock and the restore, no interleaving of the two threads can change a
        // seeded build. Without them it fails only when an inspection draws inside a seeded build's window, which 200
        // builds against a busy inspector hit almost every time (it failed in 3 runs of 3 without the fix).
        var expected = Weights(seed: 11);
        using var stop = new CancellationTokenSource();
        var inspector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var model = TestEngine.Models.Build(MnistMlp);
            }
        });
        inspector.Start();
        try
        {
            for (var i = 0; i < 200; i++)
            {
                Assert.Equal(expected, Weights(seed: 11));
            }
        }
        finally
        {
            stop.Cancel();
            inspector.Join();
        }
    }

    private static float[] Weights(long seed)
    {
        using var model = TestEngine.Models.Build(MnistMlp, seed);
        return [.. model.parameters().SelectMany(p => p.detach().cpu().data<float>().ToArray())];
    }
}
