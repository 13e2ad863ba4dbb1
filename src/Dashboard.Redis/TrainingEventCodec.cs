using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;

namespace Dashboard.Redis;

/// <summary>
/// A training event as one Redis message: <c>{"origin": "…", "type": "EpochCompletedEvent", "event": {…}}</c>. The type
/// names come from the event records themselves, so an event added to the broadcaster later crosses processes without
/// a list here to keep up to date; <see cref="LiveFeedChangedEvent"/> is about this process's own link and never leaves it.
/// </summary>
public static class TrainingEventCodec
{
    /// <summary>Every event type that crosses processes, by its name on the wire.</summary>
    public static readonly FrozenDictionary<string, Type> Types = typeof(TrainingEvent).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(TrainingEvent)) && !t.IsAbstract && t != typeof(LiveFeedChangedEvent))
        .ToFrozenDictionary(t => t.Name, StringComparer.Ordinal);

    public static string Encode(TrainingEvent trainingEvent, string origin)
    {
        var type = trainingEvent.GetType();
        if (!Types.ContainsKey(type.Name))
        {
            throw new ArgumentException($"{type.Name} does not cross processes.", nameof(trainingEvent));
        }

        var envelope = new JsonObject
        {
            ["origin"] = origin,
            ["type"] = type.Name,
            ["event"] = JsonSerializer.SerializeToNode(trainingEvent, type, JsonDefaults.Options),
        };
        return envelope.ToJsonString(JsonDefaults.Options);
    }

    /// <summary>The origin and event of a message, or null with the reason when it is not one this codec wrote.</summary>
    public static (string Origin, TrainingEvent Event)? Decode(string message, out string? problem)
    {
        problem = null;
        try
        {
            if (JsonNode.Parse(message) is not JsonObject envelope
                || envelope["origin"]?.GetValue<string>() is not { Length: > 0 } origin
                || envelope["type"]?.GetValue<string>() is not { } typeName
                || envelope["event"] is not JsonObject body)
            {
                problem = "not an event envelope (origin, type, event)";
                return null;
            }

            if (!Types.TryGetValue(typeName, out var type))
            {
                problem = $"unknown event type '{typeName}'";
                return null;
            }

            if (body.Deserialize(type, JsonDefaults.Options) is not TrainingEvent trainingEvent)
            {
                problem = $"an empty {typeName}";
                return null;
            }

            return (origin, trainingEvent);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or NotSupportedException)
        {
            problem = e.Message;
            return null;
        }
    }
}
