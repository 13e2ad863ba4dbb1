using System.Text.Json.Serialization;
using Dashboard.Data.Entities;

namespace Dashboard.Runs.Contracts;

/// <summary>One line of <c>GET /api/runs/{id}/log</c> and the payload of the hub's <c>RunLog</c>.</summary>
/// <param name="Id">Orders the lines; <c>?after=</c> takes the last one a client has.</param>
/// <param name="Time">When it happened (UTC).</param>
/// <param name="Level"><c>info</c>, <c>warning</c> or <c>error</c>.</param>
public sealed record RunLogLineDto(long Id, DateTime Time, string Level, string Message)
{
    public static RunLogLineDto From(RunLogEntry line) =>
        new(line.Id, DateTime.SpecifyKind(line.Time, DateTimeKind.Utc), line.Level, line.Message);

    /// <summary>Not in the JSON (clients have <c>level</c>); spares pages the level names.</summary>
    [JsonIgnore]
    public bool IsError => Level == RunLogLevel.Error;

    [JsonIgnore]
    public bool IsWarning => Level == RunLogLevel.Warning;
}

/// <summary>Which lines of a run's log to read: those after a line id, of at least a level.</summary>
public sealed record RunLogQuery(long After = 0, string MinLevel = RunLogLevel.Info);
