using System.Globalization;
using System.Text.Json;
using Dashboard.Runs.Contracts;

namespace Dashboard.Web.Components.Pages;

/// <summary>The New-run form's plugin hyperparameters: values per model, the request field, and the API's errors by field.</summary>
public sealed partial class NewRun
{
    /// <summary>Values the user typed, per model and name, so switching models back and forth keeps them.</summary>
    private readonly Dictionary<(string Model, string Name), double> _hyperparameters = [];

    /// <summary>The API's messages for <c>hyperparameters.*</c>, shown beside their inputs.</summary>
    private Dictionary<string, string[]> _hyperparameterErrors = [];

    private ModelDto? SelectedModel => Catalog.Models().FirstOrDefault(m => m.Name == _form.Model);

    private double HyperparameterValue(HyperparameterDto parameter) =>
        _hyperparameters.GetValueOrDefault((_form.Model, parameter.Name), parameter.Default);

    private void SetHyperparameter(HyperparameterDto parameter, object? value)
    {
        _hyperparameterErrors.Remove($"hyperparameters.{parameter.Name}");

        // A number the browser could not read stays out of the request, whose default then applies and is shown again.
        if (value is double number || double.TryParse(value?.ToString(), NumberStyles.Float, CultureInfo.InvariantCulture, out number))
        {
            _hyperparameters[(_form.Model, parameter.Name)] = number;
        }
        else
        {
            _hyperparameters.Remove((_form.Model, parameter.Name));
        }
    }

    /// <summary>The selected model's values as the API takes them; null for a model without hyperparameters.</summary>
    private Dictionary<string, JsonElement>? HyperparametersForRequest() =>
        SelectedModel is { Hyperparameters.Count: > 0 } model
            ? model.Hyperparameters.ToDictionary(h => h.Name, h => JsonSerializer.SerializeToElement(HyperparameterValue(h)))
            : null;

    private void ShowHyperparameterErrors(IReadOnlyDictionary<string, string[]> errors) =>
        _hyperparameterErrors = errors
            .Where(e => e.Key == "hyperparameters" || e.Key.StartsWith("hyperparameters.", StringComparison.Ordinal))
            .ToDictionary(e => e.Key, e => e.Value);

    private static string Invariant(double? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "";
}
