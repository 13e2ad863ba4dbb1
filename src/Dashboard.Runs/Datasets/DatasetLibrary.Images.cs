using System.Text.Json;
using System.Text.Json.Nodes;
using Dashboard.Engine.Datasets.Images;
using Dashboard.Engine.Datasets.Tabular;
using Dashboard.Plugins;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Options;

namespace Dashboard.Runs.Datasets;

/// <summary>The image-folder half of the library: zips stored as <c>&lt;sha256&gt;.zip</c> beside the tables.</summary>
public sealed partial class DatasetLibrary
{
    /// <summary>The caps on an uploaded zip; fixed, documented in the README (they bound memory, not taste).</summary>
    public static ImageZipLimits ImageLimits { get; } = new();

    /// <summary>True when a spooled upload is a zip (told by its first bytes): it is stored as image folders, not read as a table.</summary>
    public static bool IsImageZip(Stream upload) => ImageZipReader.IsZip(upload);

    /// <summary>The class folders of a spooled zip and their image counts, read without inflating anything, or why it is refused.</summary>
    public async Task<ServiceResult<IReadOnlyList<DatasetClassDto>>> SurveyImagesAsync(Stream zip, CancellationToken cancellationToken = default)
    {
        try
        {
            var classes = await Task.Run(() => ImageZipReader.Survey(zip, ImageLimits), cancellationToken);
            return new([.. classes.Select(DatasetClassDto.From)]);
        }
        catch (ImageZipException e)
        {
            return ServiceResult<IReadOnlyList<DatasetClassDto>>.Invalid(new Dictionary<string, string[]> { [e.Field] = [e.Message] });
        }
        finally
        {
            zip.Position = 0;
        }
    }

    /// <summary>Decodes every image of an uploaded zip (refusing the first bad entry by name) and stores zip and description.</summary>
    private async Task<ServiceResult<DatasetSummaryDto>> AddImagesAsync(Stream zip, string name, string sha256, DatasetUploadForm form, CancellationToken cancellationToken)
    {
        var color = string.IsNullOrWhiteSpace(form.Color) ? ImageColors.Grayscale : form.Color.Trim().ToLowerInvariant();
        var request = new ImageZipRequest(name, form.ImageSize ?? ImageZipRequest.DefaultSize, color);
        ImageFolderDescription description;
        RawDataset data;
        try
        {
            // Inflating and decoding is CPU work on up to the size cap: off the request thread.
            (description, data) = await Task.Run(() => ImageZipReader.Read(zip, sha256, request, ImageLimits), cancellationToken);
        }
        catch (ImageZipException e)
        {
            return Invalid(e.Field, e.Message);
        }

        var source = new ImageFolderSource(description, ZipPath(sha256), ImageLimits, data);
        await StoreAsync(zip, ZipPath(sha256), description, source, cancellationToken);
        logger.LogInformation("Dataset {Name} stored: {Images} images in {Classes} classes, file {Sha256}.", name, description.Images, description.Classes.Count, sha256);
        return new(DatasetSummaryDto.From(source));
    }

    /// <summary>A stored description as a source: an image zip's says <c>"kind": "images"</c>, a table's has no kind.</summary>
    private static IDatasetSource StoredSource(string json, StorageOptions options)
    {
        var folder = options.DatasetPath;
        if (JsonNode.Parse(json)?["kind"]?.GetValue<string>() == DatasetKinds.Images)
        {
            var images = JsonSerializer.Deserialize<ImageFolderDescription>(json, Json) ?? throw new InvalidDataException("empty description");
            return new ImageFolderSource(images, Path.Combine(folder, images.Sha256 + ".zip"), ImageLimits);
        }

        var table = JsonSerializer.Deserialize<TableDescription>(json, Json) ?? throw new InvalidDataException("empty description");
        return new CsvDatasetSource(table, Path.Combine(folder, table.Sha256 + ".csv"), LimitsOf(options));
    }

    /// <summary>The stored file an uploaded dataset reads; null for built-in ones.</summary>
    private string? DataPath(IDatasetSource source) => source switch
    {
        CsvDatasetSource csv => CsvPath(csv.Table.Sha256),
        ImageFolderSource images => ZipPath(images.Description.Sha256),
        _ => null,
    };

    private string ZipPath(string sha256) => Path.Combine(Folder, sha256 + ".zip");
}
