using Microsoft.Extensions.Options;

namespace Dashboard.Runs.Options;

/// <summary>
/// Checks on start that the training settings fit the storage: with SQLite every run trains in this process, so turning
/// the embedded worker off would leave runs queued for ever.
/// </summary>
public sealed class TrainingOptionsValidator(IOptions<StorageOptions> storage) : IValidateOptions<TrainingOptions>
{
    public ValidateOptionsResult Validate(string? name, TrainingOptions options) =>
        !options.EmbeddedWorker && !storage.Value.UsesPostgres
            ? ValidateOptionsResult.Fail(
                $"{TrainingOptions.Section}:{nameof(TrainingOptions.EmbeddedWorker)} is false, but {StorageOptions.Section}:{nameof(StorageOptions.Provider)} is "
                + $"'{storage.Value.Provider}': only with '{StorageOptions.Postgres}' can separate workers (src/Dashboard.Worker) train the runs. "
                + $"Set {TrainingOptions.Section}:{nameof(TrainingOptions.EmbeddedWorker)}=true, or use PostgreSQL.")
            : ValidateOptionsResult.Success;
}
