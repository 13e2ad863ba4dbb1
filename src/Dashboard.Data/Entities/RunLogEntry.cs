namespace Dashboard.Data.Entities;

/// <summary>One line of a run's log: what the run did, when, and how serious it was. Gone with its run.</summary>
public sealed class RunLogEntry
{
    /// <summary>Grows with every line written, so it orders a run's lines and lets a reader ask for those after one it has.</summary>
    public long Id { get; set; }

    public int RunId { get; set; }

    public DateTime Time { get; set; }

    /// <summary>One of <see cref="RunLogLevel"/>.</summary>
    public string Level { get; set; } = RunLogLevel.Info;

    public string Message { get; set; } = "";
}

/// <summary>The levels of a run's log lines, least serious first.</summary>
public static class RunLogLevel
{
    public const string Info = "info";
    public const string Warning = "warning";
    public const string Error = "error";

    public static readonly IReadOnlyList<string> All = [Info, Warning, Error];

    /// <summary>The levels at least as serious as <paramref name="level"/>, or null when it names none.</summary>
    public static IReadOnlyList<string>? AtLeast(string level)
    {
        var index = All.ToList().IndexOf(level);
        return index < 0 ? null : All.Skip(index).ToList();
    }
}
