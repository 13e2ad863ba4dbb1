using Dashboard.Plugins;
namespace Dashboard.Engine.Datasets.Images;

/// <summary>One class folder of an image zip: its name (the label's meaning) and how many images it holds.</summary>
public sealed record ImageClass(string Name, int Images);

/// <summary>
/// The stored description of an uploaded image-folder zip (a JSON file beside the zip): how its images become samples.
/// Classes are in label order (ordinal sort of the folder names), so label i always means <c>Classes[i]</c>.
/// </summary>
/// <param name="Kind">Always <see cref="DatasetKinds.Images"/>: tells this description from a table's in the shared folder.</param>
public sealed record ImageFolderDescription(
    string Name,
    string Sha256,
    int ImageSize,
    string Color,
    IReadOnlyList<ImageClass> Classes,
    string Kind = DatasetKinds.Images)
{
    public int Channels => ImageColors.Channels(Color);

    public int Images => Classes.Sum(c => c.Images);

    public IReadOnlyList<int> SampleShape => [Channels, ImageSize, ImageSize];
}
