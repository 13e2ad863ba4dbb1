using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dashboard.Runs.Contracts;

/// <summary>
/// Body of <c>POST /api/checkpoints/{id}/predict</c>: one sample. <c>input</c>: the model's input as numbers (for MNIST 784
/// pixels in [0, 1], row by row). <c>row</c>: for a CSV table, a raw row (column → number or text), encoded and
/// standardised as the run's training data was.
/// </summary>
public sealed record PredictRequest(float[]? Input, IReadOnlyDictionary<string, JsonElement>? Row = null);

/// <summary>A prediction: a class with the probabilities of all classes, or for a regression model the value alone.</summary>
/// <param name="Predicted">The most probable class; absent for regression.</param>
/// <param name="Value">Regression: the predicted value; absent for classification.</param>
public sealed record PredictionDto(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Predicted,
    IReadOnlyList<double> Probabilities,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Value = null);
