using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Evaluation;
using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Contracts;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;
using Plotly.Blazor;
using Plotly.Blazor.Traces;

namespace Dashboard.Web.Components.Controls;

public sealed partial class EvaluationPanel : ComponentBase, IAsyncDisposable
{
    private EvaluationResult? _result;
    private PredictionDto? _prediction;
    private string? _error;
    private bool _evaluating;
    private ElementReference _canvas;
    private IJSObjectReference? _pad;
    private IList<ITrace> _heatmap = [];
    private Plotly.Blazor.Layout _heatmapLayout = new();
    private readonly Config _heatmapConfig = new() { DisplayModeBar = Plotly.Blazor.ConfigLib.DisplayModeBarEnum.False, Responsive = true };

    [Parameter, EditorRequired]
    public int CheckpointId { get; set; }

    /// <summary>Offer the drawing pad (MNIST checkpoints).</summary>
    [Parameter]
    public bool DrawDigits { get; set; }

    [Inject]
    public required CheckpointLoader Checkpoints { get; set; }

    [Inject]
    public required CheckpointEvaluator Evaluator { get; set; }

    [Inject]
    public required IJSRuntime JS { get; set; }

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (DrawDigits && _pad is null)
        {
            _pad = await JS.InvokeAsync<IJSObjectReference>("import", "./js/digit-pad.js");
            await _pad.InvokeVoidAsync("attach", _canvas);
        }
    }

    private async Task EvaluateAsync()
    {
        _evaluating = true;
        _error = null;
        try
        {
            var checkpoint = await LoadAsync();
            if (checkpoint is null)
            {
                return;
            }

            _result = await Task.Run(() => Evaluator.EvaluateTestSplit(checkpoint));
            var labels = Enumerable.Range(0, _result.Confusion.Length).Select(i => (object)i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
            _heatmap =
            [
                new HeatMap
                {
                    X = labels,
                    Y = labels,
                    Z = [.. _result.Confusion.Select(row => (object)row.Select(v => (object)v).ToList())],
                    ColorScale = "Blues",
                    HoverTemplate = "true %{y}, predicted %{x}: %{z}<extra></extra>",
                },
            ];
            _heatmapLayout = new Plotly.Blazor.Layout
            {
                Height = 300,
                Margin = new Plotly.Blazor.LayoutLib.Margin { L = 40, R = 10, T = 10, B = 40 },
                XAxis = [new Plotly.Blazor.LayoutLib.XAxis { Title = new Plotly.Blazor.LayoutLib.XAxisLib.Title { Text = "predicted" } }],
                YAxis = [new Plotly.Blazor.LayoutLib.YAxis { Title = new Plotly.Blazor.LayoutLib.YAxisLib.Title { Text = "true" }, AutoRange = Plotly.Blazor.LayoutLib.YAxisLib.AutoRangeEnum.Reversed }],
            };
        }
        finally
        {
            _evaluating = false;
        }
    }

    private async Task PredictAsync()
    {
        if (_pad is null || await LoadAsync() is not { } checkpoint)
        {
            return;
        }

        var pixels = await _pad.InvokeAsync<float[]>("read", _canvas);
        var probabilities = Evaluator.Predict(checkpoint, [.. pixels.Select(MnistDataset.Normalize)]);
        _prediction = new PredictionDto(Array.IndexOf(probabilities, probabilities.Max()), probabilities);
    }

    private async Task ClearAsync()
    {
        _prediction = null;
        if (_pad is not null)
        {
            await _pad.InvokeVoidAsync("clear", _canvas);
        }
    }

    private async Task<LoadedCheckpoint?> LoadAsync()
    {
        try
        {
            return await Checkpoints.LoadAsync(CheckpointId);
        }
        catch (CheckpointCorruptException e)
        {
            _error = $"This checkpoint failed verification and is now marked corrupt: {e.Message}";
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_pad is not null)
        {
            try
            {
                await _pad.InvokeVoidAsync("detach", _canvas);
                await _pad.DisposeAsync();
            }
            catch (JSDisconnectedException)
            {
                // The page is gone; so is the pad.
            }
        }
    }
}
