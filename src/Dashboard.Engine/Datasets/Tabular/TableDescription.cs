using Dashboard.Plugins;

namespace Dashboard.Engine.Datasets.Tabular;

/// <summary>How a column's cells become model inputs.</summary>
public static class ColumnKinds
{
    /// <summary>One input, standardised with the training split's mean and standard deviation.</summary>
    public const string Numeric = "numeric";

    /// <summary>One input per category (one-hot).</summary>
    public const string Categorical = "categorical";
}

/// <summary>One column of a stored table.</summary>
/// <param name="Categories">Categorical: the categories in one-hot order (ordinal sort). Empty for numeric columns.</param>
/// <param name="Mode">Categorical with imputation: the most frequent category, put in place of a missing cell.</param>
public sealed record TableColumn(string Name, string Kind, IReadOnlyList<string> Categories, string? Mode = null)
{
    public bool IsNumeric => Kind == ColumnKinds.Numeric;

    /// <summary>How many model inputs the column becomes.</summary>
    public int Width => IsNumeric ? 1 : Categories.Count;
}

/// <summary>
/// The stored description of an uploaded table (a JSON file beside the CSV): everything needed to turn its raw rows, or a
/// raw row sent for prediction, into model inputs. Standardisation statistics are not stored: they are computed from the
/// training split when a run loads the data, so they follow from (file hash, split) alone.
/// </summary>
/// <param name="Target">The target column; for classification its categories are the classes, in label order.</param>
public sealed record TableDescription(
    string Name,
    string Sha256,
    string Task,
    TableColumn Target,
    IReadOnlyList<TableColumn> Features,
    bool Impute,
    int Rows)
{
    public bool IsRegression => Task == TaskKinds.Regression;

    /// <summary>Model inputs per row, after one-hot encoding.</summary>
    public int FeatureWidth => Features.Sum(f => f.Width);

    public int ClassCount => IsRegression ? 1 : Target.Categories.Count;
}

/// <summary>A table that cannot be used, with the place it went wrong when there is one.</summary>
/// <param name="Field">The request field to blame: "file" for the content, else "target", "features", "task".</param>
public sealed class CsvTableException(string message, string field = "file") : Exception(message)
{
    public string Field { get; } = field;
}
