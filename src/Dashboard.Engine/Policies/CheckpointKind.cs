namespace Dashboard.Engine.Policies;

/// <summary>Why a checkpoint was written; the names are the scripting contract's.</summary>
public static class CheckpointKind
{
    public const string Periodic = "periodic";
    public const string Best = "best";
    public const string Last = "last";
    public const string Manual = "manual";
    public const string Interrupt = "interrupt";
}
