using Dashboard.Plugins;

namespace SamplePlugin;

/// <summary>
/// 1,000 sequences of 64 steps: class 0 a sine, class 1 a square wave, each with a random frequency, phase and noise.
/// Generated from a fixed seed with System.Random (never torch's generator), so every load gives the same samples.
/// </summary>
public sealed class WaveDataset : IDatasetSource
{
    private const int Count = 1000;
    private const int Length = 64;
    private readonly Lazy<RawDataset> _data = new(Generate);

    public DatasetInfo Info { get; } = new("waves", "Waves", "Noisy sine vs square waves (sample plugin).", [1, Length], 2, Count);

    public RawDataset Load() => _data.Value;

    private static RawDataset Generate()
    {
        var random = new Random(7);
        var features = new float[Count * Length];
        var labels = new long[Count];
        for (var i = 0; i < Count; i++)
        {
            labels[i] = i % 2;
            var frequency = 1 + (random.NextDouble() * 3);
            var phase = random.NextDouble() * 2 * Math.PI;
            for (var t = 0; t < Length; t++)
            {
                var sine = Math.Sin((2 * Math.PI * frequency * t / Length) + phase);
                var value = labels[i] == 0 ? sine : Math.Sign(sine);
                features[(i * Length) + t] = (float)(value + ((random.NextDouble() - 0.5) * 0.6));
            }
        }

        return new RawDataset(features, labels, [1, Length], 2);
    }
}
