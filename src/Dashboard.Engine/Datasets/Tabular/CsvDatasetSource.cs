using Dashboard.Plugins;

namespace Dashboard.Engine.Datasets.Tabular;

/// <summary>
/// An uploaded CSV table as a dataset: rows encoded by <see cref="TabularEncoder"/> from the stored file, with the numeric
/// inputs marked for standardisation by the splitter (training-split statistics). Regression targets travel as
/// <see cref="RawDataset.Targets"/>; classification ones as labels.
/// </summary>
public sealed class CsvDatasetSource : IDatasetSource
{
    private readonly string _path;
    private readonly CsvTableLimits _limits;
    private readonly Lazy<RawDataset> _data;

    public CsvDatasetSource(TableDescription table, string path, CsvTableLimits limits)
    {
        Table = table;
        _path = path;
        _limits = limits;
        _data = new(Read);
        Info = new DatasetInfo(
            table.Name,
            table.Name,
            $"Uploaded CSV table: {table.Rows:N0} rows, {table.Features.Count} feature columns ({table.FeatureWidth} inputs), target '{table.Target.Name}' ({table.Task}).",
            [table.FeatureWidth],
            table.ClassCount,
            table.Rows,
            table.Task,
            DatasetKinds.Csv);
    }

    public TableDescription Table { get; }

    public DatasetInfo Info { get; }

    public RawDataset Load() => _data.Value;

    /// <summary>The stored file is named by its hash and never rewritten: the name is the content's hash.</summary>
    public string? DataSha256() => Table.Sha256;

    /// <summary>
    /// A raw row (column → cell) as the model of a run on this table sees it: encoded, then standardised with the statistics
    /// of that run's training split, which follow from its validation split and sample limit.
    /// </summary>
    /// <exception cref="CsvTableException">A feature is missing (without imputation), not a number, or an unknown category.</exception>
    public float[] EncodeRow(IReadOnlyDictionary<string, string?> row, double validationSplit, int? sampleLimit)
    {
        var sample = new float[Table.FeatureWidth];
        TabularEncoder.EncodeFeatures(Table, name => row.TryGetValue(name, out var cell) ? cell : null, sample, "The row");
        DatasetSplitter.StandardizationFor(Load(), validationSplit, sampleLimit).Apply(sample);
        return sample;
    }

    private RawDataset Read()
    {
        var width = Table.FeatureWidth;
        var features = new float[checked(Table.Rows * width)];
        var labels = new long[Table.Rows];
        var targets = Table.IsRegression ? new float[Table.Rows] : null;
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        using var file = File.OpenRead(_path);
        var count = 0;
        foreach (var (row, cells) in CsvRows.Read(file, _limits, names =>
        {
            for (var i = 0; i < names.Length; i++)
            {
                index[names[i]] = i;
            }
        }))
        {
            if (row > Table.Rows)
            {
                throw new InvalidDataException($"{_path} has more rows than its description ({Table.Rows}); the file changed after upload.");
            }

            var where = $"Row {row}";
            TabularEncoder.EncodeFeatures(Table, name => index.TryGetValue(name, out var i) ? cells[i] : null, features.AsSpan((row - 1) * width, width), where);
            var target = TabularEncoder.EncodeTarget(Table, cells[index[Table.Target.Name]], where);
            if (targets is not null)
            {
                targets[row - 1] = (float)target;
            }
            else
            {
                labels[row - 1] = (long)target;
            }

            count = row;
        }

        if (count != Table.Rows)
        {
            throw new InvalidDataException($"{_path} has {count} rows, its description {Table.Rows}; the file changed after upload.");
        }

        return new RawDataset(features, labels, [width], Table.ClassCount, targets, TabularEncoder.NumericSlots(Table));
    }
}
