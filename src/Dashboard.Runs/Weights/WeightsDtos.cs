using Dashboard.Engine.Weights;

namespace Dashboard.Runs.Weights;

/// <summary>One tensor of an uploaded weights file.</summary>
public sealed record WeightsTensorDto(string Name, IReadOnlyList<long> Shape, string Dtype);

/// <summary>An uploaded weights file: <c>POST /api/weights</c>'s answer. Its id is its SHA-256.</summary>
public sealed record WeightsDto(string Id, string Format, string Sha256, long SizeBytes, IReadOnlyList<WeightsTensorDto> Tensors);

/// <summary><c>POST /api/weights/{id}/match</c>: the architecture and the dataset whose class count sizes its head.</summary>
public sealed record WeightsMatchRequest(string? Model, string? Dataset);

/// <summary>The match report, as <c>load_state_dict(strict=False)</c> gives it, plus the model's parameter names to freeze.</summary>
public sealed record WeightsMatchDto(
    IReadOnlyList<string> Matched,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unexpected,
    IReadOnlyList<ShapeMismatch> ShapeMismatches,
    IReadOnlyList<string> Parameters)
{
    public static WeightsMatchDto From(WeightsMatch match, IReadOnlyList<string> parameters) =>
        new(match.Matched, match.Missing, match.Unexpected, match.ShapeMismatches, parameters);
}
