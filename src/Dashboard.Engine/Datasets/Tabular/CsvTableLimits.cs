namespace Dashboard.Engine.Datasets.Tabular;

/// <summary>Bounds on an uploaded table, so no upload can make the server hold unbounded memory.</summary>
public sealed record CsvTableLimits
{
    public int MaxRows { get; init; } = 1_000_000;

    public int MaxColumns { get; init; } = 1_000;

    /// <summary>Most categories a categorical column (or a classification target) may have.</summary>
    public int MaxCategories { get; init; } = 100;

    /// <summary>Rows × model inputs: the size of the encoded feature array (4 bytes each).</summary>
    public long MaxEncodedValues { get; init; } = 50_000_000;

    /// <summary>Rows read before each column's kind is fixed (numeric when every non-empty sampled cell is a number).</summary>
    public int TypeSampleRows { get; init; } = 1_000;

    /// <summary>A numeric target with more distinct values than this, or any fraction, is guessed to be regression.</summary>
    public int MaxGuessedClasses { get; init; } = 20;
}

/// <summary>What the uploader asked for.</summary>
/// <param name="Features">Columns to learn from; null takes every column but the target.</param>
/// <param name="Task">Classification or regression; null guesses from the target column.</param>
public sealed record CsvTableRequest(string Name, string Target, string? Task = null, IReadOnlyList<string>? Features = null, bool Impute = false);
