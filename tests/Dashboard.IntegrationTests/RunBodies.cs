namespace Dashboard.IntegrationTests;

/// <summary>Run bodies for <c>POST /api/runs</c>; tests pick the cheapest that still exercises what they check.</summary>
internal static class RunBodies
{
    /// <summary>Two spirals: trains an epoch in a few milliseconds, for tests that need runs to finish.</summary>
    public static object Spirals(int epochs, string? name = null) =>
        new { name, dataset = "spirals", model = "mlp", epochs, batchSize = 64, learningRate = 0.01, optimizer = "adam", seed = 7 };

    /// <summary>
    /// Two spirals with a checkpoint every epoch: each epoch takes milliseconds to train and several writes to store, so
    /// the run is mostly database work, and still training when a test stops the database under it.
    /// </summary>
    public static object DatabaseBound(int epochs, string name) => new
    {
        name,
        dataset = "spirals",
        model = "mlp",
        epochs,
        batchSize = 64,
        learningRate = 0.01,
        optimizer = "adam",
        seed = 7,
        checkpoint = new { everyEpochs = 1 },
    };

    /// <summary>
    /// The MNIST CNN on 3,000 samples: a few tenths of a second an epoch when the box is idle, so the first checkpoint comes
    /// soon, yet many epochs keep it training long after the test has acted.
    /// </summary>
    public static object LongCnn(int epochs = 50, string? name = null) =>
        new { name, dataset = "mnist", model = "cnn", epochs, batchSize = 64, learningRate = 0.001, optimizer = "adam", seed = 1, sampleLimit = 3000 };

    /// <summary>The MNIST MLP for many epochs: holds the only training slot while a test lines up the run it cares about.</summary>
    public static object SlotHolder(string? name = null) =>
        new { name, dataset = "mnist", model = "mlp", epochs = 1000, batchSize = 64, learningRate = 0.001, optimizer = "adam", seed = 3 };
}
