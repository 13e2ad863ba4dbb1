using Dashboard.Runs.Contracts;

namespace Dashboard.Runs.Execution;

/// <summary>The loss of the steps since the last progress report: one bucket, built up without allocating.</summary>
internal struct StepSummary
{
    private long _first;
    private int _count;
    private double _sum;
    private double _min;
    private double _max;

    public void Add(long step, double loss)
    {
        if (_count == 0)
        {
            _first = step;
            _min = _max = loss;
        }

        _count++;
        _sum += loss;
        _min = Math.Min(_min, loss);
        _max = Math.Max(_max, loss);
    }

    /// <summary>The summary so far (null when no step came since the last one) and a fresh start.</summary>
    public StepPointDto? Take()
    {
        var point = _count == 0 ? null : new StepPointDto(_first, _sum / _count, _min, _max, _count);
        this = default;
        return point;
    }
}
