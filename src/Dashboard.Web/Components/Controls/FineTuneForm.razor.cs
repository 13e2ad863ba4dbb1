using Dashboard.Engine.Configuration;
using Dashboard.Runs.Contracts;
using Microsoft.AspNetCore.Components;

namespace Dashboard.Web.Components.Controls;

public sealed partial class FineTuneForm : ComponentBase
{
    private readonly HashSet<int> _classes = [];
    private readonly HashSet<string> _freeze = [];
    private IReadOnlyDictionary<string, string[]> _errors = new Dictionary<string, string[]>();
    private int _epochs = 5;
    private double _learningRate;
    private string _optimizer = Vocabulary.DefaultOptimizer;
    private bool _resetOptimizer;
    private string _dataset = "";
    private bool _submitting;

    [Parameter, EditorRequired]
    public int CheckpointId { get; set; }

    [Parameter, EditorRequired]
    public TrainingConfig ParentConfig { get; set; } = new();

    [Parameter]
    public IReadOnlyList<DatasetDto> Datasets { get; set; } = [];

    /// <summary>Freezable modules: parameter names without their .weight/.bias ending.</summary>
    [Parameter]
    public IReadOnlyList<string> Layers { get; set; } = [];

    [Parameter]
    public int ClassCount { get; set; }

    /// <summary>Sends the request; returns the started run or field errors.</summary>
    [Parameter, EditorRequired]
    public Func<FineTuneRequest, Task<ServiceResult<RunStartedDto>>> Submit { get; set; } = null!;

    [Parameter]
    public EventCallback<int> OnStarted { get; set; }

    [Parameter]
    public EventCallback OnCancel { get; set; }

    protected override void OnParametersSet()
    {
        if (_dataset.Length == 0)
        {
            _learningRate = ParentConfig.LearningRate / 10;
            _optimizer = ParentConfig.Optimizer;
            _dataset = ParentConfig.Dataset;
            _classes.UnionWith(ParentConfig.ClassFilter ?? []);
        }
    }

    private static void Toggle<T>(HashSet<T> set, T value, ChangeEventArgs e)
    {
        if (e.Value is true)
        {
            set.Add(value);
        }
        else
        {
            set.Remove(value);
        }
    }

    private async Task SubmitAsync()
    {
        _submitting = true;
        try
        {
            var result = await Submit(new FineTuneRequest
            {
                Epochs = _epochs,
                LearningRate = _learningRate,
                Optimizer = _optimizer,
                ResetOptimizer = _resetOptimizer,
                Dataset = _dataset == ParentConfig.Dataset ? null : _dataset,
                DatasetFilter = _classes.Count == 0 ? null : [.. _classes.Order()],
                Freeze = [.. _freeze.Order(StringComparer.Ordinal)],
            });
            _errors = result.Errors
                ?? (result.Problem is { } problem ? new Dictionary<string, string[]> { [""] = [problem] } : new Dictionary<string, string[]>());
            if (result.Succeeded)
            {
                await OnStarted.InvokeAsync(result.Value!.RunId);
            }
        }
        finally
        {
            _submitting = false;
        }
    }
}
