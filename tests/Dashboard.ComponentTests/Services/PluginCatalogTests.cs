using System.Security.Cryptography;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using Dashboard.Runs.Plugins;
using Dashboard.TestSupport;
using static TorchSharp.torch;

namespace Dashboard.ComponentTests.Services;

/// <summary>The real loader over the real build outputs of the sample plugin and the broken test plugins.</summary>
public sealed class PluginCatalogTests
{
    [Fact]
    public void Load_SamplePluginFolder_RegistersItsModelAndDatasetWithItsIdentity()
    {
        var (catalog, models, datasets) = Load(PluginFolders.Sample);

        Assert.Empty(catalog.Problems);
        var plugin = Assert.Single(catalog.Loaded);
        Assert.Equal("SamplePlugin", plugin.Identity.Name);
        Assert.StartsWith("1.0.0", plugin.Identity.Version, StringComparison.Ordinal);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(PluginFolders.Sample, "SamplePlugin.dll")))), plugin.Identity.AssemblySha256);
        Assert.Equal(["wave-conv"], plugin.Models);
        Assert.Equal(["waves"], plugin.Datasets);
        Assert.True(models.TryGet("wave-conv", out var architecture));
        Assert.Equal(plugin.Identity, architecture.Plugin);
        Assert.Equal(["kernel", "width"], architecture.Schema.Select(h => h.Name).Order(StringComparer.Ordinal));

        // The plugin's types are the host's: its dataset is an IDatasetSource here, its model a Module<Tensor, Tensor>.
        var waves = datasets.Get("waves");
        Assert.Equal(1000, waves.Load().Count);
        var spec = architecture.SpecFor(waves.Info, new Dictionary<string, double> { ["width"] = 4 });
        using var model = models.Build(spec, seed: 1);
        using var output = model.call(zeros(3, 1, 64));
        Assert.Equal([3L, 2L], output.shape);
        Assert.Equal(["conv.weight", "conv.bias", "head.weight", "head.bias"], models.Shapes(spec).Select(s => s.Name));
        Assert.Equal([4L, 1L, 5L], models.Shapes(spec)[0].Shape);
    }

    [Fact]
    public void Load_BrokenPlugins_ReportsEachWithItsMessageAndKeepsTheRest()
    {
        var (catalog, models, _) = Load(PluginFolders.Broken, PluginFolders.Sample);

        var problems = catalog.Problems.Select(p => $"{p.Plugin}: {p.Message}").ToList();
        Assert.Contains(problems, p => p.StartsWith("Dashboard.TestPlugins.Broken: ThrowingRegisterPlugin failed to register", StringComparison.Ordinal) && p.Contains("broken on purpose in Register", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("ThrowingConstructorPlugin failed to register", StringComparison.Ordinal) && p.Contains("broken on purpose in the constructor", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("Model 'bad-build'", StringComparison.Ordinal) && p.Contains("broken on purpose in build", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("Model 'mlp'", StringComparison.Ordinal) && p.Contains("another model has this name", StringComparison.Ordinal));
        Assert.Equal(4, problems.Count);

        // What failed is left out; the built-in MLP is still the built-in one, and the sample loaded beside the broken ones.
        Assert.False(models.TryGet("bad-build", out _));
        Assert.False(models.TryGet("half-registered", out _));
        Assert.True(models.TryGet("mlp", out var mlp) && mlp.Plugin is null);
        Assert.True(models.TryGet("wave-conv", out _));
        Assert.Empty(catalog.Loaded.Single(p => p.Identity.Name == "Dashboard.TestPlugins.Broken").Models);
    }

    [Fact]
    public void Load_MissingFolder_IsAProblemNotAnException()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-plugins-{Guid.NewGuid():N}");

        var (catalog, _, _) = Load(missing);

        var problem = Assert.Single(catalog.Problems);
        Assert.Equal(missing, problem.Folder);
        Assert.Contains("does not exist", problem.Message, StringComparison.Ordinal);
        Assert.Empty(catalog.Loaded);
    }

    private static (PluginCatalog Catalog, ModelRegistry Models, DatasetRegistry Datasets) Load(params string[] folders)
    {
        var catalog = PluginCatalog.Load(folders);
        var datasets = DatasetRegistry.CreateDefault();
        catalog.AddDatasetsTo(datasets);
        var models = ModelRegistry.CreateDefault();
        catalog.AddModelsTo(models, datasets);
        return (catalog, models, datasets);
    }
}
