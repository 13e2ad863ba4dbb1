namespace Dashboard.Bench;

/// <summary>What the command line asked for: quick (under two minutes) or full, and optionally only some figures.</summary>
internal sealed record BenchSettings(bool Full, IReadOnlySet<string> Only, string WorkDirectory, bool KeepWorkDirectory)
{
    public string Mode => Full ? "full" : "quick";

    /// <summary>The quick value or the full one.</summary>
    public T Pick<T>(T quick, T full) => Full ? full : quick;

    public bool Runs(string figure) => Only.Count == 0 || Only.Contains(figure);
}
