using Dashboard.Data.Postgres;
using Microsoft.Extensions.Options;

namespace Dashboard.Runs.Options;

/// <summary>
/// Checks the storage choice on start, so a typo in <c>Storage:Provider</c> or a missing PostgreSQL connection string
/// stops the host with a sentence naming the setting, not with a provider exception at the first query.
/// </summary>
public sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        var provider = options.Provider?.Trim() ?? "";
        if (!string.Equals(provider, StorageOptions.Sqlite, StringComparison.OrdinalIgnoreCase)
            && !string.Equals(provider, StorageOptions.Postgres, StringComparison.OrdinalIgnoreCase))
        {
            return ValidateOptionsResult.Fail(
                $"{StorageOptions.Section}:{nameof(StorageOptions.Provider)} is '{options.Provider}'; use '{StorageOptions.Sqlite}' or '{StorageOptions.Postgres}'.");
        }

        // The string itself is never repeated: it usually holds a password.
        if (options.UsesPostgres && PostgresStorage.Problem(options.PostgresConnectionString) is { } problem)
        {
            return ValidateOptionsResult.Fail(
                $"{StorageOptions.Section}:{nameof(StorageOptions.Provider)} is '{StorageOptions.Postgres}', but ConnectionStrings:Postgres {problem}.");
        }

        return ValidateOptionsResult.Success;
    }
}
