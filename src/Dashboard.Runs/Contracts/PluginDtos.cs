using Dashboard.Plugins;
using Dashboard.Runs.Plugins;

namespace Dashboard.Runs.Contracts;

/// <summary>One hyperparameter of a plugin model as the API and the New-run form show it.</summary>
/// <param name="Kind">"int", "float", "bool" or "choice".</param>
public sealed record HyperparameterDto(string Name, string Kind, double Default, string Description, double? Min, double? Max, IReadOnlyList<double>? Choices)
{
    public static HyperparameterDto From(Hyperparameter h) =>
        new(h.Name, h.Kind.ToString().ToLowerInvariant(), h.Default, h.Description, h.Min, h.Max, h.Choices);
}

/// <summary><c>GET /api/plugins</c>: the plugins that loaded and what went wrong with the others.</summary>
public sealed record PluginsDto(IReadOnlyList<LoadedPlugin> Loaded, IReadOnlyList<PluginProblem> Problems);
