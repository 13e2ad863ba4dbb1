using Dashboard.Engine.Models;

namespace Dashboard.Runs.Checkpoints;

/// <summary>
/// Whether a checkpoint of a plugin model can be continued with the plugins loaded now. A checkpoint records the plugin
/// build it was trained with (<see cref="ModelSpec.Plugin"/>). Another build may define other layers, so its weights are
/// loaded strictly into the model that build makes: every parameter name and shape must match, else the checkpoint is
/// refused with what differs; when they match the run goes on and its log says which builds differ.
/// </summary>
public static class PluginBuildCheck
{
    /// <summary>
    /// Why the checkpoint's model cannot be continued now, or null (always null for built-in models).
    /// <paramref name="weights"/> are the checkpoint's weights as the trainer saves them; without them another build is
    /// refused, as nothing shows it still fits.
    /// </summary>
    public static string? Problem(ModelSpec spec, ModelRegistry models, byte[]? weights = null)
    {
        if (spec.Plugin is not { } trained)
        {
            return null;
        }

        if (!models.TryGet(spec.Architecture, out var architecture) || architecture.Plugin is not { } loaded)
        {
            return $"The checkpoint's model '{spec.Architecture}' comes from plugin {trained}, which is not loaded; add its folder to Training:Plugins.";
        }

        if (loaded == trained)
        {
            return null;
        }

        var builds = $"The checkpoint was trained with plugin {trained}; the loaded build is {loaded}";
        if (weights is null)
        {
            return $"{builds}. Load the build it was trained with to continue it.";
        }

        try
        {
            // Strict: a parameter the new build lacks, adds or shapes differently fails here, before any run is queued.
            using var model = models.Build(spec);
            using var stream = new MemoryStream(weights, writable: false);
            model.load(stream, strict: true);
            return null;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or KeyNotFoundException)
        {
            return $"{builds}, whose parameters no longer match the checkpoint's ({e.Message}). Load the build it was trained with to continue it.";
        }
    }

    /// <summary>The run-log line for a checkpoint continued with another build of its plugin, or null when the build is the same.</summary>
    public static string? Difference(ModelSpec spec, ModelRegistry models) =>
        spec.Plugin is { } trained && models.TryGet(spec.Architecture, out var architecture) && architecture.Plugin is { } loaded && loaded != trained
            ? $"Continuing a checkpoint trained with plugin {trained} on the loaded build {loaded}: every parameter name and shape matches, but the code may differ."
            : null;
}
