using Dashboard.Runs.Launching;
using Microsoft.Extensions.Options;

namespace Dashboard.Jobs;

/// <summary>What a job server (a <c>src/Dashboard.Worker</c> process, or a web app's embedded worker) trains.</summary>
public sealed class WorkerOptions
{
    public const string Section = "Worker";

    /// <summary>The server's name in the job engine's dashboard; empty means host name and process id.</summary>
    public string Name { get; set; } = "";

    /// <summary>The queues it takes runs from, comma-separated, in order of preference (e.g. "gpu" or "gpu,default").</summary>
    public string Queues { get; set; } = RunQueueName.Default;

    public string ResolvedName => string.IsNullOrWhiteSpace(Name) ? $"{Environment.MachineName}-{Environment.ProcessId}" : Name.Trim();

    public string[] QueueList => Queues.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>Refuses on start a queue list the job engine could not serve, naming the setting.</summary>
public sealed class WorkerOptionsValidator : IValidateOptions<WorkerOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkerOptions options)
    {
        if (options.QueueList.Length == 0)
        {
            return ValidateOptionsResult.Fail($"{WorkerOptions.Section}:{nameof(WorkerOptions.Queues)} is empty; name at least one queue, like '{RunQueueName.Default}'.");
        }

        var problems = options.QueueList.Where(q => RunQueueName.Problem(q) is not null).ToList();
        return problems.Count > 0
            ? ValidateOptionsResult.Fail($"{WorkerOptions.Section}:{nameof(WorkerOptions.Queues)} has '{string.Join("', '", problems)}': {RunQueueName.Problem(problems[0])}")
            : ValidateOptionsResult.Success;
    }
}
