using Dashboard.Engine.Configuration;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Launching;
using Dashboard.Runs.Management;
using Dashboard.Runs.Weights;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;

namespace Dashboard.Web.Components.Pages;

/// <summary>
/// "New run from weights": upload a weights file, pick model and dataset, see the match report before anything trains,
/// choose layers to freeze, start. Every step goes through the same <see cref="WeightsLibrary"/> and
/// <see cref="RunLauncher"/> checks as <c>POST /api/weights</c>, <c>/match</c> and <c>POST /api/runs</c>.
/// </summary>
public sealed partial class NewRunFromWeights
{
    private static readonly IReadOnlyDictionary<string, string[]> NoErrors = new Dictionary<string, string[]>();

    private readonly HashSet<string> _freeze = new(StringComparer.Ordinal);
    private WeightsDto? _weights;
    private WeightsMatchDto? _match;
    private IReadOnlyDictionary<string, string[]> _errors = NoErrors;
    private string? _error;
    private bool _busy;
    private string _model = "mlp";
    private string _dataset = "spirals";
    private int _epochs = 5;
    private double _learningRate = 0.001;
    private long _seed = 42;

    [Inject]
    public required WeightsLibrary Library { get; set; }

    [Inject]
    public required RunCatalog Catalog { get; set; }

    [Inject]
    public required RunLauncher Launcher { get; set; }

    [Inject]
    public required NavigationManager Navigation { get; set; }

    private async Task ChooseAsync(InputFileChangeEventArgs e)
    {
        _busy = true;
        _error = null;
        _errors = NoErrors;
        _weights = null;
        _match = null;
        try
        {
            if (e.File.Size > Library.MaxBytes)
            {
                _error = $"The file has {e.File.Size:N0} bytes; weights files may have at most {Library.MaxBytes:N0}.";
                return;
            }

            await using var upload = e.File.OpenReadStream(Library.MaxBytes);
            var added = await Library.UploadAsync(upload);
            _errors = added.Errors ?? NoErrors;
            _error = added.Problem;
            _weights = added.Value;
            if (_weights is not null)
            {
                Rematch();
            }
        }
        catch (IOException ex)
        {
            _error = $"The upload failed: {ex.Message}";
        }
        finally
        {
            _busy = false;
        }
    }

    private Task PickAsync(string? model, string? dataset)
    {
        _model = model ?? _model;
        _dataset = dataset ?? _dataset;
        Rematch();
        return Task.CompletedTask;
    }

    /// <summary>The report for the picked model and dataset; frozen names the new model lacks are dropped.</summary>
    private void Rematch()
    {
        var result = Library.Match(_weights!.Id, new WeightsMatchRequest(_model, _dataset));
        _errors = result.Errors ?? NoErrors;
        _match = result.Value;
        _freeze.IntersectWith(_match?.Parameters ?? []);
    }

    private void Toggle(string name, bool frozen)
    {
        if (frozen)
        {
            _freeze.Add(name);
        }
        else
        {
            _freeze.Remove(name);
        }
    }

    private async Task StartAsync()
    {
        if (_weights is null)
        {
            return;
        }

        _busy = true;
        try
        {
            var result = await Launcher.CreateAsync(new CreateRunRequest
            {
                Model = _model,
                Dataset = _dataset,
                Epochs = _epochs,
                LearningRate = _learningRate,
                Seed = _seed,
                InitialWeights = new InitialWeightsSettings { Id = _weights.Id, Freeze = [.. _match?.Parameters.Where(_freeze.Contains) ?? []] },
            });
            if (result.Succeeded)
            {
                Navigation.NavigateTo($"runs/{result.Value!.Id}");
                return;
            }

            _errors = result.Errors ?? NoErrors;
            _error = result.Problem;
        }
        finally
        {
            _busy = false;
        }
    }
}
