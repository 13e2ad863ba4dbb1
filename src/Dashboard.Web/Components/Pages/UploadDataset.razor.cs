using Dashboard.Runs.Contracts;
using Dashboard.Runs.Datasets;
using Dashboard.Runs.Options;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.Extensions.Options;

namespace Dashboard.Web.Components.Pages;

/// <summary>
/// Uploads a CSV table: the file is held in a temporary file while the page shows its first rows and detected column
/// kinds, then stored through the same <see cref="DatasetLibrary"/> checks as <c>POST /api/datasets</c>.
/// </summary>
public sealed partial class UploadDataset : IAsyncDisposable
{
    private FileStream? _file;
    private DatasetPreviewDto? _preview;
    private DatasetSummaryDto? _saved;
    private string? _error;
    private bool _busy;
    private string _name = "";
    private string _target = "";
    private string _features = "";
    private string _task = "";
    private bool _impute;

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

            var preview = await Library.PreviewAsync(_file);
            if (!preview.Succeeded)
            {
                _error = Describe(preview);
                return;
            }

            _preview = preview.Value!;
            _name = Path.GetFileNameWithoutExtension(e.File.Name);
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
            var result = await Library.AddAsync(_file, new DatasetUploadForm(_name, _target, _task, _features, _impute));
            if (result.Succeeded)
            {
                _saved = result.Value;
                _preview = null;
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
