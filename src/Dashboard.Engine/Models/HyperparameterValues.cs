using Dashboard.Plugins;

namespace Dashboard.Engine.Models;

/// <summary>Checks a run's hyperparameter values against a model's schema and fills in the defaults.</summary>
public static class HyperparameterValues
{
    /// <summary>At most this many values may be sent, whatever the schema: a body cannot grow a stored config unboundedly.</summary>
    public const int MaxValues = 64;

    /// <summary>
    /// Each problem keyed by its field (<c>hyperparameters.width</c>): unknown names, non-finite or out-of-bounds values,
    /// a fraction for an int, a bool other than 0/1, a value outside a choice's list.
    /// </summary>
    public static IEnumerable<(string Field, string Message)> Problems(IReadOnlyList<Hyperparameter> schema, IReadOnlyDictionary<string, double>? values)
    {
        if (values is null)
        {
            yield break;
        }

        if (values.Count > MaxValues)
        {
            yield return ("hyperparameters", $"At most {MaxValues} hyperparameters may be given.");
            yield break;
        }

        foreach (var (name, value) in values.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            var field = $"hyperparameters.{name}";
            if (schema.FirstOrDefault(h => h.Name == name) is not { } parameter)
            {
                yield return (field, schema.Count == 0
                    ? "This model takes no hyperparameters."
                    : $"Unknown hyperparameter '{name}'. This model takes: {string.Join(", ", schema.Select(h => h.Name))}.");
            }
            else if (Problem(parameter, value) is { } problem)
            {
                yield return (field, problem);
            }
        }
    }

    /// <summary>Every hyperparameter of the schema: the given value, else the default. Sorted, so stored JSON is stable.</summary>
    public static IReadOnlyDictionary<string, double> Fill(IReadOnlyList<Hyperparameter> schema, IReadOnlyDictionary<string, double>? values)
    {
        var filled = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var parameter in schema)
        {
            filled[parameter.Name] = values is not null && values.TryGetValue(parameter.Name, out var value) ? value : parameter.Default;
        }

        return filled;
    }

    /// <summary>Why a schema itself is unusable (a plugin's mistake), or null: names, bounds and defaults must agree.</summary>
    public static string? SchemaProblem(IReadOnlyList<Hyperparameter> schema)
    {
        foreach (var parameter in schema)
        {
            if (string.IsNullOrWhiteSpace(parameter.Name) || schema.Count(h => h.Name == parameter.Name) > 1)
            {
                return $"hyperparameter names must be distinct and not blank ('{parameter.Name}').";
            }

            if (Problem(parameter, parameter.Default) is { } problem)
            {
                return $"the default of '{parameter.Name}' is invalid: {problem}";
            }
        }

        return null;
    }

    private static string? Problem(Hyperparameter parameter, double value)
    {
        if (!double.IsFinite(value))
        {
            return "Must be a finite number.";
        }

        switch (parameter.Kind)
        {
            case HyperparameterKind.Bool:
                return value is 0 or 1 ? null : "Must be true or false (1 or 0).";
            case HyperparameterKind.Choice:
                return parameter.Choices is { } choices && choices.Contains(value)
                    ? null
                    : $"Must be one of: {string.Join(", ", parameter.Choices ?? [])}.";
            case HyperparameterKind.Int when value != Math.Floor(value):
                return "Must be a whole number.";
        }

        if (value < (parameter.Min ?? double.MinValue) || value > (parameter.Max ?? double.MaxValue))
        {
            return $"Must be between {parameter.Min} and {parameter.Max}.";
        }

        return null;
    }
}
