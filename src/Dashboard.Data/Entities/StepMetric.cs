namespace Dashboard.Data.Entities;

/// <summary>
/// One optimizer step's training loss. Keyed by (run, step), so a step replayed after a resume replaces its row; a run
/// stores only its own steps (a branch's start is on its parent's rows).
/// </summary>
public sealed class StepMetric
{
    public int RunId { get; set; }

    public long Step { get; set; }

    public int Epoch { get; set; }

    public double Loss { get; set; }
}
