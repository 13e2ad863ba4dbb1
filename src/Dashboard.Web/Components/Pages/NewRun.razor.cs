using Dashboard.Engine.Configuration;
using Dashboard.Engine.Policies;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Launching;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using Dashboard.Runs.Management;

namespace Dashboard.Web.Components.Pages;

public sealed partial class NewRun : ComponentBase
{
    private readonly NewRunForm _form = new();
    private EditContext _editContext = null!;
    private ValidationMessageStore _messages = null!;
    private bool _submitting;
    private bool _showAdvanced;

    [Inject]
    public required RunLauncher Launcher { get; set; }

    /// <summary>The datasets and models to offer, as DTOs: the page does not reach into the engine's registries.</summary>
    [Inject]
    public required RunCatalog Catalog { get; set; }

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
            var result = await Launcher.CreateAsync(_form.ToRequest() with { Hyperparameters = HyperparametersForRequest() });
            ShowHyperparameterErrors(result.Errors ?? new Dictionary<string, string[]>());
            if (result.Errors is { } errors)
            {
                foreach (var (field, fieldErrors) in errors)
                {
                    // Errors of fields the form does not show (none today) still reach the summary.
                    _messages.Add(_editContext.Field(NewRunForm.PropertyFor(field) ?? string.Empty), fieldErrors);
                }

                // Open the advanced sections when one of their fields is at fault, so the message can be seen.
                _showAdvanced |= errors.Keys.Any(k => k.Contains('.', StringComparison.Ordinal) && !k.StartsWith("hyperparameters", StringComparison.Ordinal));
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
        private static readonly ScheduleConfig ScheduleDefaults = new();
        private static readonly EarlyStoppingConfig StoppingDefaults = new();

        public string? Name { get; set; }

        public string Dataset { get; set; } = Defaults.Dataset;

        public string Model { get; set; } = Defaults.Model;

        public int Epochs { get; set; } = Defaults.Epochs;

        public int BatchSize { get; set; } = Defaults.BatchSize;

        public double LearningRate { get; set; } = Defaults.LearningRate;

        public string Optimizer { get; set; } = Defaults.Optimizer;

        public long Seed { get; set; } = Defaults.Seed;

        public double ValidationSplit { get; set; } = Defaults.ValidationSplit;

        public int? CheckpointEveryEpochs { get; set; } = Defaults.Checkpoint.EveryEpochs;

        public int? CheckpointEverySteps { get; set; } = Defaults.Checkpoint.EverySteps;

        public double? CheckpointEveryMinutes { get; set; } = Defaults.Checkpoint.EveryMinutes;

        public string CheckpointMonitor { get; set; } = Defaults.Checkpoint.Monitor;

        public double CheckpointMinDelta { get; set; } = Defaults.Checkpoint.MinDelta;

        public int? CheckpointKeepEveryEpochs { get; set; } = Defaults.Checkpoint.KeepEveryEpochs;

        /// <summary>The disk budget in megabytes, as people think of it; the API takes bytes.</summary>
        public long? CheckpointMaxMegabytes { get; set; }

        /// <summary>Where the API's <c>checkpoint.maxBytes</c> errors are shown.</summary>
        public long? CheckpointMaxBytes => CheckpointMaxMegabytes * 1_000_000;

        public string CheckpointMode { get; set; } = Defaults.Checkpoint.Mode;

        public int? CheckpointKeepTopK { get; set; } = Defaults.Checkpoint.KeepTopK;

        public int? CheckpointKeepLast { get; set; } = Defaults.Checkpoint.KeepLast;

        public string CheckpointFileNameTemplate { get; set; } = Defaults.Checkpoint.FileNameTemplate;

        public bool CheckpointSaveBestOnly { get; set; } = Defaults.Checkpoint.SaveBestOnly;

        public string ScheduleType { get; set; } = ScheduleDefaults.Type;

        public int ScheduleStepEpochs { get; set; } = ScheduleDefaults.StepEpochs;

        public double ScheduleGamma { get; set; } = ScheduleDefaults.Gamma;

        public int SchedulePatience { get; set; } = ScheduleDefaults.Patience;

        public double ScheduleFactor { get; set; } = ScheduleDefaults.Factor;

        public bool EarlyStoppingEnabled { get; set; }

        public int EarlyStoppingPatience { get; set; } = StoppingDefaults.Patience;

        public double EarlyStoppingMinDelta { get; set; } = StoppingDefaults.MinDelta;

        public bool EarlyStoppingRestoreBestWeights { get; set; } = true;

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
            Checkpoint = Defaults.Checkpoint with
            {
                EveryEpochs = CheckpointEveryEpochs,
                EverySteps = CheckpointEverySteps,
                EveryMinutes = CheckpointEveryMinutes,
                Monitor = CheckpointMonitor,
                MinDelta = CheckpointMinDelta,
                KeepEveryEpochs = CheckpointKeepEveryEpochs,
                MaxBytes = CheckpointMaxBytes,
                Mode = CheckpointMode,
                KeepTopK = CheckpointKeepTopK,
                KeepLast = CheckpointKeepLast,
                FileNameTemplate = CheckpointFileNameTemplate,
                SaveBestOnly = CheckpointSaveBestOnly,
            },
            Schedule = ScheduleType == ScheduleConfig.Constant
                ? null
                : ScheduleDefaults with { Type = ScheduleType, StepEpochs = ScheduleStepEpochs, Gamma = ScheduleGamma, Patience = SchedulePatience, Factor = ScheduleFactor },
            EarlyStopping = EarlyStoppingEnabled
                ? StoppingDefaults with { Patience = EarlyStoppingPatience, MinDelta = EarlyStoppingMinDelta, RestoreBestWeights = EarlyStoppingRestoreBestWeights }
                : null,
        };

        /// <summary>Maps an API field name ("epochs", "checkpoint.keepTopK") to the property that shows its message.</summary>
        public static string? PropertyFor(string field)
        {
            var flat = field.Replace(".", "", StringComparison.Ordinal);
            return typeof(NewRunForm).GetProperties().FirstOrDefault(p => string.Equals(p.Name, flat, StringComparison.OrdinalIgnoreCase))?.Name;
        }
    }
}
