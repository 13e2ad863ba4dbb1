using System.Globalization;

namespace Dashboard.Engine.Datasets.Tabular;

/// <summary>
/// Turns raw cells into model inputs the one way both training and prediction use: numeric cells as numbers (a missing
/// one as NaN, which standardisation replaces with the training mean), categorical cells one-hot.
/// </summary>
public static class TabularEncoder
{
    /// <summary>Writes one row's inputs into <paramref name="into"/> (<see cref="TableDescription.FeatureWidth"/> floats).</summary>
    /// <param name="cell">The raw cell of a column by name; null when the row lacks the column.</param>
    /// <param name="where">How messages name the row, e.g. "Row 12" or "The row".</param>
    public static void EncodeFeatures(TableDescription table, Func<string, string?> cell, Span<float> into, string where)
    {
        var slot = 0;
        foreach (var column in table.Features)
        {
            var raw = cell(column.Name)?.Trim();
            if (raw is null || CsvRows.IsMissing(raw))
            {
                if (!table.Impute)
                {
                    throw new CsvTableException($"{where} has no value for column '{column.Name}'.", "row");
                }

                raw = null;
            }

            if (column.IsNumeric)
            {
                var value = double.NaN;
                if (raw is not null && !CsvTableAnalyzer.TryNumber(raw, out value))
                {
                    throw new CsvTableException($"{where}, column '{column.Name}': '{CsvRows.Shorten(raw)}' is not a number.", "row");
                }

                into[slot++] = (float)value;
                continue;
            }

            var category = raw ?? column.Mode!;
            var index = IndexOf(column.Categories, category);
            if (index < 0)
            {
                throw new CsvTableException(
                    $"{where}, column '{column.Name}': '{CsvRows.Shorten(category)}' is not one of its categories ({string.Join(", ", column.Categories.Take(10))}{(column.Categories.Count > 10 ? ", …" : "")}).", "row");
            }

            into.Slice(slot, column.Width).Clear();
            into[slot + index] = 1;
            slot += column.Width;
        }
    }

    /// <summary>The class index (classification) or the value (regression) of a target cell.</summary>
    public static double EncodeTarget(TableDescription table, string cell, string where)
    {
        var raw = cell.Trim();
        if (table.IsRegression)
        {
            return CsvTableAnalyzer.TryNumber(raw, out var value)
                ? value
                : throw new CsvTableException($"{where}: the target '{CsvRows.Shorten(raw)}' is not a number.");
        }

        // Numeric classes were recorded in round-trip form, so "1.0" and "1" are the same class.
        var key = CsvTableAnalyzer.TryNumber(raw, out var number) && table.Target.Categories.All(c => CsvTableAnalyzer.TryNumber(c, out _))
            ? number.ToString("R", CultureInfo.InvariantCulture)
            : raw;
        var index = IndexOf(table.Target.Categories, key);
        return index >= 0 ? index : throw new CsvTableException($"{where}: the target '{CsvRows.Shorten(raw)}' is not one of the classes.");
    }

    /// <summary>The input slots holding numeric columns: the ones standardised.</summary>
    public static int[] NumericSlots(TableDescription table)
    {
        var slots = new List<int>();
        var slot = 0;
        foreach (var column in table.Features)
        {
            if (column.IsNumeric)
            {
                slots.Add(slot);
            }

            slot += column.Width;
        }

        return [.. slots];
    }

    private static int IndexOf(IReadOnlyList<string> values, string value)
    {
        for (var i = 0; i < values.Count; i++)
        {
            if (string.Equals(values[i], value, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
