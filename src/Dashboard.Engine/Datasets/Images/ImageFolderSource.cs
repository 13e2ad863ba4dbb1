using Dashboard.Plugins;
namespace Dashboard.Engine.Datasets.Images;

/// <summary>
/// An uploaded image-folder zip as a dataset: the stored zip decoded as its description says (size, colour, classes in
/// label order). Pixels are scaled to [0, 1] and not standardised: <see cref="RawDataset.StandardizedSlots"/> standardises
/// each input slot on its own, which for images would be per pixel rather than per channel, and the convolutional models
/// here learn from [0, 1] inputs as they do on MNIST.
/// </summary>
public sealed class ImageFolderSource : IDatasetSource
{
    private readonly string _path;
    private readonly ImageZipLimits _limits;
    private readonly Lazy<RawDataset> _data;

    /// <param name="decoded">The samples when the caller has just decoded them (an upload), so they are not decoded twice.</param>
    public ImageFolderSource(ImageFolderDescription description, string path, ImageZipLimits limits, RawDataset? decoded = null)
    {
        Description = description;
        _path = path;
        _limits = limits;
        _data = decoded is null ? new(Read) : new(decoded);
        var classes = string.Join(", ", description.Classes.Take(10).Select(c => $"{c.Name} ({c.Images:N0})"));
        Info = new DatasetInfo(
            description.Name,
            description.Name,
            $"Uploaded image folders: {description.Images:N0} {description.Color} images of {description.ImageSize}×{description.ImageSize} in {description.Classes.Count} classes: {classes}{(description.Classes.Count > 10 ? ", …" : "")}.",
            description.SampleShape,
            description.Classes.Count,
            description.Images,
            TaskKinds.Classification,
            DatasetKinds.Images);
    }

    public ImageFolderDescription Description { get; }

    public DatasetInfo Info { get; }

    public RawDataset Load() => _data.Value;

    /// <summary>The stored zip is named by its hash and never rewritten.</summary>
    public string? DataSha256() => Description.Sha256;

    private RawDataset Read()
    {
        using var file = File.OpenRead(_path);
        var (read, data) = ImageZipReader.Read(file, Description.Sha256, new ImageZipRequest(Description.Name, Description.ImageSize, Description.Color), _limits);
        if (!read.Classes.SequenceEqual(Description.Classes))
        {
            throw new InvalidDataException($"{_path} no longer holds the classes its description lists; the file changed after upload.");
        }

        return data;
    }
}
