using static TorchSharp.torch;

namespace Dashboard.Engine.Training;

/// <summary>Picks the torch device: CUDA when asked for or available, the CPU otherwise.</summary>
public static class DeviceSelector
{
    public const string Auto = "auto";

    /// <summary>Resolves "auto", "cpu" or "cuda" (optionally "cuda:N") to a device type name.</summary>
    public static string Resolve(string? preference)
    {
        var wanted = string.IsNullOrWhiteSpace(preference) ? Auto : preference.Trim().ToLowerInvariant();
        if (wanted == "cpu")
        {
            return "cpu";
        }

        var cuda = cuda_is_available();
        if (wanted == Auto)
        {
            return cuda ? "cuda" : "cpu";
        }

        if (wanted.StartsWith("cuda", StringComparison.Ordinal))
        {
            return cuda
                ? wanted
                : throw new InvalidOperationException("Training:Device asks for CUDA, but no CUDA device is available (CPU build, or no GPU/driver).");
        }

        throw new ArgumentException($"Unknown device '{preference}'. Use auto, cpu or cuda.", nameof(preference));
    }
}
