using System.Text.Json;
using System.Text.Json.Nodes;
using Dashboard.Engine.Configuration;

namespace Dashboard.Runs.Contracts;

/// <summary>One config setting that differs: its flattened path (<c>schedule.kind</c>), and each side's value as JSON text.</summary>
/// <param name="Parent">The parent's value; null where the parent does not have the setting.</param>
/// <param name="Child">This run's value; null where it does not have the setting.</param>
public sealed record ConfigChangeDto(string Path, string? Parent, string? Child);

/// <summary>
/// The settings two configs disagree on. Both go through <see cref="RunConfigCodec"/> first, so a config stored by an
/// older version (fewer fields) is compared with its defaults filled in, as the run really trained, and never by the
/// accidents of how its JSON was spelt.
/// </summary>
public static class ConfigDiff
{
    public static IReadOnlyList<ConfigChangeDto> Between(TrainingConfig? parent, TrainingConfig child)
    {
        var before = Flatten(parent);
        var after = Flatten(child);
        return [.. before.Keys.Union(after.Keys)
            .Order(StringComparer.Ordinal)
            .Select(path => new ConfigChangeDto(path, before.GetValueOrDefault(path), after.GetValueOrDefault(path)))
            .Where(change => change.Parent != change.Child)];
    }

    /// <summary>Every leaf of the config's JSON by its dotted path; a list of plain values is one leaf, shown whole.</summary>
    public static IReadOnlyDictionary<string, string> Flatten(TrainingConfig? config)
    {
        var leaves = new Dictionary<string, string>(StringComparer.Ordinal);
        if (config is not null)
        {
            Add(JsonNode.Parse(RunConfigCodec.Write(config)), "", leaves);
        }

        return leaves;
    }

    private static void Add(JsonNode? node, string path, Dictionary<string, string> leaves)
    {
        switch (node)
        {
            case null:
                // Absent and null mean the same here: the setting is off.
                return;
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    Add(value, path.Length == 0 ? key : $"{path}.{key}", leaves);
                }

                return;
            case JsonArray array when array.Any(item => item is JsonObject or JsonArray):
                for (var i = 0; i < array.Count; i++)
                {
                    Add(array[i], $"{path}[{i}]", leaves);
                }

                return;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                leaves[path] = value.GetValue<string>();
                return;
            default:
                leaves[path] = node.ToJsonString();
                return;
        }
    }
}
