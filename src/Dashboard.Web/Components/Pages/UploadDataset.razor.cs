using Dashboard.Runs.Contracts;
using Dashboard.Runs.Datasets;
using Dashboard.Runs.Options;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.Extensions.Options;

namespace Dashboard.Web.Components.Pages;

/// <summary>
/// Uploads a CSV table or an image-folder zip: the file is held in a temporary file while the page shows the table's first
/// rows and detected column kinds (or the zip's class folders and image counts), then stored through the same
/// <see cref="DatasetLibrary"/> checks as <c>POST /api/datasets</c>.
/// </summary>
public sealed partial class UploadDataset : IAsyncDisposable
{
    private FileStream? _file;
    private DatasetPreviewDto? _preview;
    private IReadOnlyList<DatasetClassDto>? _classes;
    private DatasetSummaryDto? _saved;
    private string? _error;
    private bool _busy;
    private string _name = "";
    private string _target = "";
    private string _features = "";
    private string _task = "";
    private bool _impute;
    private int _imageSize = 32;
    private string _color = "grayscale";

    [Inject]
    public required DatasetLibrary Library { get; set; }

    [Inject]
    public required IOptions<StorageOptions> Storage { get; set; }

    private long MaxBytes => Storage.Value.MaxDatasetBytes;

    public async ValueTask DisposeAsync()
    {
        if (_file is not null)
        {
            await _file.DisposeAsync();
        }
    }

    private async Task ChooseAsync(InputFileChangeEventArgs e)
    {
        _busy = true;
        _error = null;
        _preview = null;
        _classes = null;
        _saved = null;
        await DisposeAsync();
        _file = null;
        try
        {
            if (e.File.Size > MaxBytes)
            {
                _error = $"The file has {e.File.Size:N0} bytes; datasets may have at most {MaxBytes:N0}.";
                return;
            }

            await using (var upload = e.File.OpenReadStream(MaxBytes))
            {
                _file = await Library.SpoolAsync(upload);
            }

            _name = Path.GetFileNameWithoutExtension(e.File.Name);

            // A zip (told by its first bytes) is image folders: its classes are listed from the directory, nothing decoded yet.
            if (DatasetLibrary.IsImageZip(_file))
            {
                var survey = await Library.SurveyImagesAsync(_file);
                if (survey.Succeeded)
                {
                    _classes = survey.Value;
                }
                else
                {
                    _error = Describe(survey);
                }

                return;
            }

            var preview = await Library.PreviewAsync(_file);
            if (!preview.Succeeded)
            {
                _error = Describe(preview);
                return;
            }

            _preview = preview.Value!;
            _target = _preview.Columns[^1];
        }
        catch (IOException ex)
        {
            _error = $"The upload broke off: {ex.Message}";
        }
        finally
        {
            _busy = false;
        }
    }

    private async Task SaveAsync()
    {
        if (_file is null)
        {
            return;
        }

        _busy = true;
        _error = null;
        try
        {
            _file.Position = 0;
            var form = _classes is null
                ? new DatasetUploadForm(_name, _target, _task, _features, _impute)
                : new DatasetUploadForm(_name, null, null, null, false, _imageSize, _color);
            var result = await Library.AddAsync(_file, form);
            if (result.Succeeded)
            {
                _saved = result.Value;
                _preview = null;
                _classes = null;
                await DisposeAsync();
                _file = null;
                return;
            }

            _error = Describe(result);
        }
        finally
        {
            _busy = false;
        }
    }

    private static string Describe<T>(ServiceResult<T> result) =>
        result.Problem ?? string.Join(" ", result.Errors!.SelectMany(x => x.Value));
}
