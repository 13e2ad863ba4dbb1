using Dashboard.Runs.Contracts;
using Dashboard.Runs.Evaluation;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;
using Plotly.Blazor;
using Plotly.Blazor.Traces;

namespace Dashboard.Web.Components.Controls;

public sealed partial class EvaluationPanel : ComponentBase, IAsyncDisposable
{
    private EvaluationDto? _result;
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

    /// <summary>The same checks and answers as the evaluate and predict routes.</summary>
    [Inject]
    public required CheckpointInspector Inspector { get; set; }

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
            var evaluation = await Inspector.EvaluateAsync(CheckpointId);
            if (!evaluation.Succeeded)
            {
                _error = Describe(evaluation);
                return;
            }

            _result = evaluation.Value!;
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
        if (_pad is null)
        {
            return;
        }

        // The pad gives pixels in [0, 1]; the inspector normalises them as MNIST was for training, as the route does.
        var pixels = await _pad.InvokeAsync<float[]>("read", _canvas);
        var prediction = await Inspector.PredictAsync(CheckpointId, pixels);
        if (prediction.Succeeded)
        {
            _prediction = prediction.Value;
        }
        else
        {
            _error = Describe(prediction);
        }
    }

    private async Task ClearAsync()
    {
        _prediction = null;
        if (_pad is not null)
        {
            await _pad.InvokeVoidAsync("clear", _canvas);
        }
    }

    private static string Describe<T>(ServiceResult<T> refusal) =>
        refusal.Problem ?? string.Join(" ", refusal.Errors?.SelectMany(e => e.Value) ?? []);

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
