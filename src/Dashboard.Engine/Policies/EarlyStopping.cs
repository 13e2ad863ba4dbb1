namespace Dashboard.Engine.Policies;

/// <summary>Stop when the monitor has not improved for <see cref="Patience"/> epochs (Keras <c>EarlyStopping</c>).</summary>
public sealed record EarlyStoppingConfig
{
    public string Monitor { get; init; } = "valLoss";

    public string Mode { get; init; } = MonitorMode.Auto;

    public int Patience { get; init; } = 5;

    public double MinDelta { get; init; }

    /// <summary>Put the best epoch's weights back before the final checkpoint.</summary>
    public bool RestoreBestWeights { get; init; }
}

/// <summary>What early stopping remembers between epochs; saved in checkpoints.</summary>
public sealed record EarlyStoppingState(double? Best, int BestEpoch, int Wait);

public sealed class EarlyStopping(EarlyStoppingConfig config, EarlyStoppingState? restored = null)
{
    public EarlyStoppingState State { get; private set; } = restored ?? new EarlyStoppingState(null, 0, 0);

    public EarlyStoppingConfig Config => config;

    /// <summary>Records an epoch; returns whether it is the best so far, and whether training should stop now.</summary>
    public (bool Improved, bool Stop) Update(int epoch, IReadOnlyDictionary<string, double> metrics)
    {
        if (!metrics.TryGetValue(config.Monitor, out var current))
        {
            return (false, false);
        }

        if (MonitorMode.IsImprovement(current, State.Best, MonitorMode.Resolve(config.Mode, config.Monitor), config.MinDelta))
        {
            State = new EarlyStoppingState(current, epoch, 0);
            return (true, false);
        }

        State = State with { Wait = State.Wait + 1 };
        return (false, State.Wait >= config.Patience);
    }
}
