namespace Dashboard.Engine.Policies;

/// <summary>
/// The run's learning-rate schedule (the <c>schedule</c> object), stepped once per epoch. TorchSharp's schedulers expose no
/// state to save, so the schedule is ours and its state travels in every checkpoint.
/// </summary>
public sealed record ScheduleConfig
{
    public const string Constant = "constant";
    public const string Step = "step";
    public const string Cosine = "cosine";
    public const string Plateau = "plateau";

    public static IReadOnlyList<string> Types { get; } = [Constant, Step, Cosine, Plateau];

    public string Type { get; init; } = Constant;

    /// <summary>step: multiply by <see cref="Gamma"/> every this many epochs.</summary>
    public int StepEpochs { get; init; } = 10;

    /// <summary>step: the factor, e.g. 0.75.</summary>
    public double Gamma { get; init; } = 0.75;

    /// <summary>cosine: epochs of one half-cosine down to <see cref="MinLearningRate"/>; null means the run's epochs.</summary>
    public int? CosineEpochs { get; init; }

    public double MinLearningRate { get; init; }

    /// <summary>plateau: metric to watch, how long to wait, and the factor (ReduceLROnPlateau).</summary>
    public string Monitor { get; init; } = "valLoss";

    public string Mode { get; init; } = MonitorMode.Auto;

    public int Patience { get; init; } = 3;

    public double Factor { get; init; } = 0.5;

    public double Threshold { get; init; } = 1e-4;

    public int Cooldown { get; init; }
}

/// <summary>What a schedule remembers between epochs; saved in checkpoints.</summary>
public sealed record ScheduleState(double LearningRate, double? Best, int BadEpochs, int CooldownLeft);

/// <summary>Computes the learning rate for each epoch from a <see cref="ScheduleConfig"/>.</summary>
public sealed class LearningRateScheduler
{
    private readonly ScheduleConfig _config;
    private readonly double _baseLearningRate;
    private readonly int _totalEpochs;

    public LearningRateScheduler(ScheduleConfig? config, double baseLearningRate, int totalEpochs, ScheduleState? restored = null)
    {
        _config = config ?? new ScheduleConfig();
        _baseLearningRate = baseLearningRate;
        _totalEpochs = totalEpochs;
        State = restored ?? new ScheduleState(baseLearningRate, null, 0, 0);
    }

    public ScheduleState State { get; private set; }

    public double LearningRate => State.LearningRate;

    /// <summary>Call after epoch <paramref name="epoch"/> (1-based) with its metrics; returns the rate for the next epoch.</summary>
    public double Step(int epoch, IReadOnlyDictionary<string, double> metrics)
    {
        State = _config.Type switch
        {
            ScheduleConfig.Step => State with { LearningRate = _baseLearningRate * Math.Pow(_config.Gamma, epoch / Math.Max(1, _config.StepEpochs)) },
            ScheduleConfig.Cosine => State with { LearningRate = Cosine(epoch) },
            ScheduleConfig.Plateau => Plateau(metrics),
            _ => State,
        };
        return State.LearningRate;
    }

    private double Cosine(int epoch)
    {
        var period = Math.Max(1, _config.CosineEpochs ?? _totalEpochs);
        var t = Math.Min(epoch, period);
        return _config.MinLearningRate + ((_baseLearningRate - _config.MinLearningRate) * 0.5 * (1 + Math.Cos(Math.PI * t / period)));
    }

    private ScheduleState Plateau(IReadOnlyDictionary<string, double> metrics)
    {
        if (!metrics.TryGetValue(_config.Monitor, out var current))
        {
            return State;
        }

        var mode = MonitorMode.Resolve(_config.Mode, _config.Monitor);

        // PyTorch's default threshold mode is relative: better means beyond best·(1 ∓ threshold).
        var improved = State.Best is not { } best
            || (mode == MonitorMode.Max ? current > best * (1 + _config.Threshold) : current < best * (1 - _config.Threshold));
        var state = improved ? State with { Best = current, BadEpochs = 0 } : State with { BadEpochs = State.BadEpochs + 1 };
        if (state.CooldownLeft > 0)
        {
            state = state with { CooldownLeft = state.CooldownLeft - 1, BadEpochs = 0 };
        }

        if (state.BadEpochs > _config.Patience)
        {
            state = state with
            {
                LearningRate = Math.Max(_config.MinLearningRate, state.LearningRate * _config.Factor),
                BadEpochs = 0,
                CooldownLeft = _config.Cooldown,
            };
        }

        return state;
    }
}
