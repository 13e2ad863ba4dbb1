namespace Dashboard.Runs.Contracts;

/// <summary>Body of <c>POST /api/checkpoints/{id}/predict</c>: one sample; for MNIST 784 pixels in [0, 1], row by row.</summary>
public sealed record PredictRequest(float[]? Input);

public sealed record PredictionDto(int Predicted, IReadOnlyList<double> Probabilities);
