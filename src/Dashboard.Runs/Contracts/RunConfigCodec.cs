using System.Text.Json;
using Dashboard.Engine.Configuration;

namespace Dashboard.Runs.Contracts;

/// <summary>
/// The only reader and writer of <c>Run.ConfigJson</c>, a run's <see cref="TrainingConfig"/> as stored: one format in
/// one place, so what the launcher writes is what the executor, the DTOs and the next resume read.
/// </summary>
/// <remarks>
/// The column is only ever written here, so a row that does not read is damage, not input. Two kinds are told apart:
/// JSON <c>null</c> is "no config" (<see cref="Read"/> answers null and each caller says what that means), while text
/// that is not a config at all (empty, cut off, another shape) throws <see cref="JsonException"/>, which fails the
/// request or the run that met it rather than guessing a config.
/// </remarks>
public static class RunConfigCodec
{
    public static string Write(TrainingConfig config) => JsonSerializer.Serialize(config, JsonDefaults.Options);

    /// <summary>The stored config, or null when the row holds JSON <c>null</c>.</summary>
    /// <exception cref="JsonException">The text is not a config.</exception>
    public static TrainingConfig? Read(string json) => JsonSerializer.Deserialize<TrainingConfig>(json, JsonDefaults.Options);

    /// <summary>The stored config, or the defaults when the row holds JSON <c>null</c>.</summary>
    /// <exception cref="JsonException">The text is not a config.</exception>
    public static TrainingConfig ReadOrDefault(string json) => Read(json) ?? new TrainingConfig();
}
