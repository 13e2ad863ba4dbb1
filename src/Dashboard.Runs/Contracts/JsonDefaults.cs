using System.Text.Json;

namespace Dashboard.Runs.Contracts;

public static class JsonDefaults
{
    /// <summary>camelCase; NaN and infinities pass as strings, since a diverged run logs them.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
