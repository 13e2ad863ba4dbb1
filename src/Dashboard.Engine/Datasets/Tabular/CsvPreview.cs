namespace Dashboard.Engine.Datasets.Tabular;

/// <summary>The first rows of a table and the kind each column gets, as the upload page shows them before storing.</summary>
/// <param name="Kinds">Per column, by the analyzer's rule over the first <see cref="CsvTableLimits.TypeSampleRows"/> rows.</param>
public sealed record CsvPreview(IReadOnlyList<string> Columns, IReadOnlyList<string[]> Rows, IReadOnlyList<string> Kinds)
{
    /// <exception cref="CsvTableException">The header or one of the sampled rows is unusable.</exception>
    public static CsvPreview Read(Stream csv, CsvTableLimits limits, int shownRows = 10)
    {
        string[] columns = [];
        var sample = new List<string[]>();
        foreach (var (_, cells) in CsvRows.Read(csv, limits, header => columns = header))
        {
            sample.Add(cells);
            if (sample.Count >= limits.TypeSampleRows)
            {
                break;
            }
        }

        var kinds = columns.Select((_, i) => CsvTableAnalyzer.IsNumericSample(sample.Select(r => r[i])) ? ColumnKinds.Numeric : ColumnKinds.Categorical).ToArray();
        return new CsvPreview(columns, sample.Take(shownRows).ToArray(), kinds);
    }
}
