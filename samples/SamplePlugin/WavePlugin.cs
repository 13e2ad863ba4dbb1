using Dashboard.Plugins;

namespace SamplePlugin;

/// <summary>Registers a 1-D convolution model for sequences and a dataset of noisy sine and square waves to train it on.</summary>
public sealed class WavePlugin : IDashboardPlugin
{
    public void Register(IPluginRegistrar registrar)
    {
        registrar.AddModel(new PluginModel(
            "wave-conv",
            "1-D conv",
            "One 1-D convolution over a sequence, averaged over time, then a dense head.",
            [
                Hyperparameter.Int("width", 16, 1, 256, "Convolution filters."),
                Hyperparameter.Choice("kernel", 5, [3, 5, 7], "Filter length (odd, so the sequence keeps its length)."),
            ],
            context => new WaveConvNet(context),
            dataset => dataset.SampleShape.Count == 2 ? null : $"wave-conv needs sequences shaped [channels, length]; '{dataset.Name}' has [{string.Join(", ", dataset.SampleShape)}]."));
        registrar.AddDataset(new WaveDataset());
    }
}
