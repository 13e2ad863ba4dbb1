using Dashboard.Engine.Datasets.Images;
using Dashboard.Engine.Datasets.Tabular;
using Dashboard.Plugins;

namespace Dashboard.Runs.Datasets;

/// <summary>A row of <c>GET /api/datasets</c>.</summary>
/// <param name="Kind">"builtin", "csv" or "images".</param>
/// <param name="ClassCount">Classes of a classification dataset; null for regression.</param>
/// <param name="Target">CSV tables: the target column.</param>
/// <param name="Features">CSV tables: the feature columns, as <c>predict</c>'s <c>row</c> names them.</param>
/// <param name="Classes">Image folders: each class folder (in label order) and its image count.</param>
public sealed record DatasetSummaryDto(
    string Name,
    string Kind,
    string Task,
    IReadOnlyList<int> SampleShape,
    int? ClassCount,
    int Rows,
    string? Target = null,
    IReadOnlyList<TableColumn>? Features = null,
    IReadOnlyList<DatasetClassDto>? Classes = null)
{
    public static DatasetSummaryDto From(IDatasetSource source) => new(
        source.Info.Name,
        source.Info.Kind,
        source.Info.Task,
        source.Info.SampleShape,
        source.Info.IsRegression ? null : source.Info.ClassCount,
        source.Info.SampleCount,
        (source as CsvDatasetSource)?.Table.Target.Name,
        (source as CsvDatasetSource)?.Table.Features,
        (source as ImageFolderSource)?.Description.Classes.Select(DatasetClassDto.From).ToList());
}

/// <summary>The form fields of <c>POST /api/datasets</c> besides the file.</summary>
/// <param name="Features">Comma-separated column names; empty takes all but the target.</param>
/// <param name="ImageSize">Image zips: the side every image is resized to (default 32).</param>
/// <param name="Color">Image zips: "grayscale" (default) or "rgb".</param>
public sealed record DatasetUploadForm(string? Name, string? Target, string? Task, string? Features, bool Impute, int? ImageSize = null, string? Color = null);

/// <summary>The first rows of an uploaded table with each column's detected kind ("numeric" or "categorical").</summary>
public sealed record DatasetPreviewDto(IReadOnlyList<string> Columns, IReadOnlyList<string[]> Rows, IReadOnlyList<string> Kinds);

/// <summary>An image dataset's class folder: its name (label i is the i-th class) and how many images it holds.</summary>
public sealed record DatasetClassDto(string Name, int Images)
{
    public static DatasetClassDto From(ImageClass c) => new(c.Name, c.Images);
}
