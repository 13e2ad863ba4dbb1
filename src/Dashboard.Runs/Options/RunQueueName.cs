namespace Dashboard.Runs.Options;

/// <summary>
/// The job queue a run asks for (<c>queue</c> on the create body): the kind of worker that may train it, matched against
/// each worker's <c>Worker:Queues</c>. The job engine takes only lower-case letters, digits and underscores.
/// </summary>
public static class RunQueueName
{
    public const string Default = "default";

    public const int MaxLength = 50;

    /// <summary>Why <paramref name="queue"/> cannot name a queue, or null when it can.</summary>
    public static string? Problem(string queue) =>
        queue.Length is 0 or > MaxLength || !queue.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_')
            ? $"A queue name has 1 to {MaxLength} lower-case letters, digits or underscores (like 'default' or 'gpu')."
            : null;
}
