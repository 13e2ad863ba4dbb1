using Dashboard.Engine.Models;

namespace Dashboard.Runs.Launching;

/// <summary>
/// Whether a checkpoint of a plugin model can be continued with the plugins loaded now. A checkpoint records the plugin
/// build it was trained with (<see cref="ModelSpec.Plugin"/>); continuing it with another build, or none, would load its
/// weights into code that may define other layers, so both are refused with what differs.
/// </summary>
public static class PluginBuildCheck
{
    /// <summary>Why the checkpoint's model cannot be continued now, or null (always null for built-in models).</summary>
    public static string? Problem(ModelSpec spec, ModelRegistry models)
    {
        if (spec.Plugin is not { } trained)
        {
            return null;
        }

        if (!models.TryGet(spec.Architecture, out var architecture) || architecture.Plugin is not { } loaded)
        {
            return $"The checkpoint's model '{spec.Architecture}' comes from plugin {trained}, which is not loaded; add its folder to Training:Plugins.";
        }

        // TODO(#13): when only the build differs, compare the checkpoint's parameter names and shapes with the model built
        // now and continue with a run-log warning when they match; until then a different build is refused outright.
        return loaded == trained
            ? null
            : $"The checkpoint was trained with plugin {trained}; the loaded build is {loaded}. Load the build it was trained with to continue it.";
    }
}
