using Dashboard.Engine.Data;
using Dashboard.Engine.Models;
using Dashboard.Engine.Training;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;

namespace Dashboard.Web.Components.Pages;

public sealed partial class NewRun : ComponentBase
{
    private readonly NewRunForm _form = new();
    private EditContext _editContext = null!;
    private ValidationMessageStore _messages = null!;
    private bool _submitting;

    [Inject]
    public required RunService RunService { get; set; }

    [Inject]
    public required DatasetRegistry Datasets { get; set; }

    [Inject]
    public required ModelRegistry Models { get; set; }

    [Inject]
    public required NavigationManager Navigation { get; set; }

    protected override void OnInitialized()
    {
        _editContext = new EditContext(_form);
        _messages = new ValidationMessageStore(_editContext);
        _editContext.OnFieldChanged += (_, e) => _messages.Clear(e.FieldIdentifier);
    }

    private async Task SubmitAsync()
    {
        _messages.Clear();
        _submitting = true;
        try
        {
            var result = await RunService.CreateAsync(_form.ToRequest());
            if (result.Errors is { } errors)
            {
                foreach (var (field, fieldErrors) in errors)
                {
                    // Errors of fields the form does not show (none today) still reach the summary.
                    _messages.Add(_editContext.Field(NewRunForm.PropertyFor(field) ?? string.Empty), fieldErrors);
                }

                _editContext.NotifyValidationStateChanged();
                return;
            }

            Navigation.NavigateTo($"runs/{result.Value!.Id}");
        }
        finally
        {
            _submitting = false;
        }
    }

    /// <summary>The form's fields, pre-filled with the defaults a run gets when the API omits them.</summary>
    public sealed class NewRunForm
    {
        private static readonly TrainingConfig Defaults = new();

        public string? Name { get; set; }

        public string Dataset { get; set; } = Defaults.Dataset;

        public string Model { get; set; } = Defaults.Model;

        public int Epochs { get; set; } = Defaults.Epochs;

        public int BatchSize { get; set; } = Defaults.BatchSize;

        public double LearningRate { get; set; } = Defaults.LearningRate;

        public string Optimizer { get; set; } = Defaults.Optimizer;

        public long Seed { get; set; } = Defaults.Seed;

        public double ValidationSplit { get; set; } = Defaults.ValidationSplit;

        public CreateRunRequest ToRequest() => new()
        {
            Name = Name,
            Dataset = Dataset,
            Model = Model,
            Epochs = Epochs,
            BatchSize = BatchSize,
            LearningRate = LearningRate,
            Optimizer = Optimizer,
            Seed = Seed,
            ValidationSplit = ValidationSplit,
        };

        /// <summary>Maps an API field name (camelCase) to the property that shows its message.</summary>
        public static string? PropertyFor(string field) =>
            typeof(NewRunForm).GetProperties().FirstOrDefault(p => string.Equals(p.Name, field, StringComparison.OrdinalIgnoreCase))?.Name;
    }
}
