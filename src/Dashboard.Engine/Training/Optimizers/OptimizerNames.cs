namespace Dashboard.Engine.Training.Optimizers;

/// <summary>The optimizer names a config may give; the scripting contract's spelling.</summary>
public static class OptimizerNames
{
    public const string Sgd = "sgd";
    public const string Adam = "adam";
    public const string AdamW = "adamw";

    public static IReadOnlyList<string> All { get; } = [Sgd, Adam, AdamW];
}
