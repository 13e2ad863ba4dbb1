using System.Globalization;
using Dashboard.Plugins;

namespace Dashboard.Engine.Datasets.Tabular;

/// <summary>
/// Reads an uploaded table once and describes it: each column's kind, the categories, the task, the row count. Every
/// problem is refused with the row and column named. Kinds are fixed from the first <see cref="CsvTableLimits.TypeSampleRows"/>
/// rows: a column is numeric when every non-empty sampled cell parses as a number (invariant culture, "." decimals);
/// a later cell of a numeric column that is not a number is then refused, not silently turned into a category.
/// </summary>
public static class CsvTableAnalyzer
{
    public static TableDescription Analyze(Stream csv, string sha256, CsvTableRequest request, CsvTableLimits limits)
    {
        string[] names = [];
        var sample = new List<(int Row, string[] Cells)>();
        ColumnState[]? columns = null;
        var rows = 0;
        foreach (var record in CsvRows.Read(csv, limits, header => names = header))
        {
            rows = record.Row;
            if (columns is null)
            {
                sample.Add(record);
                if (sample.Count < limits.TypeSampleRows)
                {
                    continue;
                }

                columns = Begin(names, sample, request, limits);
                sample.Clear();
                continue;
            }

            Observe(columns, record, request, limits);
        }

        columns ??= Begin(names, sample, request, limits);
        return Describe(columns, sha256, request, rows, limits);
    }

    /// <summary>The kind of each column from the sampled rows, then the sample itself observed like any later row.</summary>
    private static ColumnState[] Begin(string[] names, List<(int Row, string[] Cells)> sample, CsvTableRequest request, CsvTableLimits limits)
    {
        if (!names.Contains(request.Target, StringComparer.Ordinal))
        {
            throw new CsvTableException($"The target '{CsvRows.Shorten(request.Target)}' is not a column. Columns: {string.Join(", ", names.Select(CsvRows.Shorten))}.", "target");
        }

        var features = request.Features ?? [.. names.Where(n => n != request.Target)];
        foreach (var feature in features)
        {
            if (!names.Contains(feature, StringComparer.Ordinal))
            {
                throw new CsvTableException($"The feature '{CsvRows.Shorten(feature)}' is not a column.", "features");
            }
        }

        if (features.Contains(request.Target) || features.Count == 0 || features.Distinct().Count() != features.Count)
        {
            throw new CsvTableException("Name at least one feature column, each once, and not the target.", "features");
        }

        var columns = names.Select((name, i) => new ColumnState(name, i, Numeric: IsNumericSample(sample.Select(r => r.Cells[i])),
            Used: name == request.Target || features.Contains(name), IsTarget: name == request.Target)).ToArray();
        foreach (var record in sample)
        {
            Observe(columns, record, request, limits);
        }

        return columns;
    }

    private static void Observe(ColumnState[] columns, (int Row, string[] Cells) record, CsvTableRequest request, CsvTableLimits limits)
    {
        foreach (var column in columns)
        {
            if (!column.Used)
            {
                continue;
            }

            var cell = record.Cells[column.Index].Trim();
            if (CsvRows.IsMissing(cell))
            {
                if (column.IsTarget || !request.Impute)
                {
                    throw new CsvTableException(column.IsTarget
                        ? $"Row {record.Row} has no value in the target column '{column.Name}'; rows without a target cannot be used."
                        : $"Row {record.Row} has no value in column '{column.Name}'. Fill it in, or upload with impute=true (numeric: the training mean; categorical: the most frequent category).");
                }

                continue;
            }

            if (column.Numeric)
            {
                if (!TryNumber(cell, out var value))
                {
                    throw new CsvTableException(
                        $"Row {record.Row}, column '{column.Name}': '{CsvRows.Shorten(cell)}' is not a number, but the column's first {limits.TypeSampleRows:N0} rows made it numeric.");
                }

                // A numeric target keeps its distinct values (a few, for classification) and notes any fraction.
                if (column.IsTarget)
                {
                    column.Fraction |= value != Math.Floor(value);
                    if (column.Counts.Count <= limits.MaxCategories)
                    {
                        column.Count(value.ToString("R", CultureInfo.InvariantCulture));
                    }
                }

                continue;
            }

            column.Count(cell);
            if (column.Counts.Count > limits.MaxCategories)
            {
                throw new CsvTableException(column.IsTarget
                    ? $"The target column '{column.Name}' has more than {limits.MaxCategories} classes (text values); use a numeric target for regression."
                    : $"Column '{column.Name}' has more than {limits.MaxCategories} categories (at row {record.Row}); leave it out with 'features' or upload it as numbers.", column.IsTarget ? "target" : "file");
            }
        }
    }

    private static TableDescription Describe(ColumnState[] columns, string sha256, CsvTableRequest request, int rows, CsvTableLimits limits)
    {
        var target = columns.Single(c => c.IsTarget);
        var guessed = target.Numeric && (target.Fraction || target.Counts.Count > limits.MaxGuessedClasses) ? TaskKinds.Regression : TaskKinds.Classification;
        var task = request.Task ?? guessed;
        if (!TaskKinds.All.Contains(task))
        {
            throw new CsvTableException($"Unknown task '{CsvRows.Shorten(task)}'. Choose classification or regression.", "task");
        }

        if (task == TaskKinds.Regression && !target.Numeric)
        {
            throw new CsvTableException($"Regression needs a numeric target; '{target.Name}' holds text.", "task");
        }

        if (task == TaskKinds.Classification && (target.Counts.Count > limits.MaxCategories || target.Counts.Count < 2))
        {
            throw new CsvTableException($"Classification needs 2 to {limits.MaxCategories} classes; the target '{target.Name}' has {(target.Counts.Count > limits.MaxCategories ? "more" : target.Counts.Count.ToString(CultureInfo.InvariantCulture))}.", "task");
        }

        var features = request.Features ?? [.. columns.Where(c => c.Used && !c.IsTarget).Select(c => c.Name)];
        var described = features.Select(name => columns.Single(c => c.Name == name).ToColumn()).ToArray();
        var width = described.Sum(c => c.Width);
        if ((long)width * rows > limits.MaxEncodedValues)
        {
            throw new CsvTableException($"{rows:N0} rows of {width:N0} inputs (after one-hot) exceed the {limits.MaxEncodedValues:N0} values a table may have.");
        }

        var targetColumn = task == TaskKinds.Regression
            ? new TableColumn(target.Name, ColumnKinds.Numeric, [])
            : target.ToColumn() with { Kind = ColumnKinds.Categorical, Mode = null };
        return new TableDescription(request.Name, sha256, task, targetColumn, described, request.Impute, rows);
    }

    /// <summary>The typing rule: numeric when the sample has a value and every non-empty cell is a number.</summary>
    public static bool IsNumericSample(IEnumerable<string> cells)
    {
        var any = false;
        foreach (var cell in cells)
        {
            if (CsvRows.IsMissing(cell))
            {
                continue;
            }

            if (!TryNumber(cell.Trim(), out _))
            {
                return false;
            }

            any = true;
        }

        return any;
    }

    public static bool TryNumber(string cell, out double value) =>
        double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    private sealed record ColumnState(string Name, int Index, bool Numeric, bool Used, bool IsTarget)
    {
        public Dictionary<string, int> Counts { get; } = new(StringComparer.Ordinal);

        public bool Fraction { get; set; }

        public void Count(string value) => Counts[value] = Counts.GetValueOrDefault(value) + 1;

        public TableColumn ToColumn()
        {
            if (Numeric && !IsTarget)
            {
                return new TableColumn(Name, ColumnKinds.Numeric, []);
            }

            // Numeric classes sort by value (2 before 10), text ones ordinally; the mode breaks ties by that order too.
            var ordered = Numeric
                ? Counts.Keys.OrderBy(k => double.Parse(k, CultureInfo.InvariantCulture)).ToList()
                : Counts.Keys.Order(StringComparer.Ordinal).ToList();
            var mode = ordered.OrderByDescending(k => Counts[k]).FirstOrDefault();
            return new TableColumn(Name, ColumnKinds.Categorical, ordered, mode);
        }
    }
}
