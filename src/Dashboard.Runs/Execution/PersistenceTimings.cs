using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Dashboard.Runs.Execution;

/// <summary>
/// What one run's persistence cost, part by part, measured with a stopwatch where it happens: the time the training
/// thread spent inside the observer (waiting for the previous checkpoint's or epoch's write, handing work over) and the wall time
/// of each background write. The run's log gets the per-epoch means once the run ends (<see cref="Summary"/>), so a slow
/// run can be explained from its own log and the bench can print where the dashboard's time goes without guessing.
/// </summary>
public sealed class PersistenceTimings
{
    /// <summary>A part of the work, named as the summary line names it.</summary>
    public enum Part
    {
        /// <summary>Training thread: waiting for the previous checkpoint's row and file (back-pressure).</summary>
        CheckpointWait,

        /// <summary>
        /// Training thread: waiting for the previous epoch's steps and row before handing over this epoch's (outside the
        /// epoch's own duration, inside the time between epochs).
        /// </summary>
        EpochWait,

        /// <summary>Training thread: the observer's own calls (buffering steps, starting writes), waits excluded.</summary>
        HandOff,

        /// <summary>Background: per-step loss rows and their roll-up.</summary>
        StepWrites,

        /// <summary>Background: the epoch's metric row and the run's update.</summary>
        EpochRows,

        /// <summary>Background: the checkpoint's row, inserted before its files and updated after.</summary>
        CheckpointRows,

        /// <summary>Background: <c>CheckpointStore.Write</c> (files, hashes, fsyncs, rename).</summary>
        CheckpointFiles,

        /// <summary>Background: retention after a checkpoint.</summary>
        Retention,
    }

    private static readonly string[] Names = ["checkpointWait", "epochWait", "handOff", "stepWrites", "epochRows", "checkpointRows", "checkpointFiles", "retention"];

    // Written from the training thread and the background writes at once, so every update is atomic.
    private readonly long[] _ticks = new long[Names.Length];
    private readonly long[] _max = new long[Names.Length];
    private int _epochs;

    public static long Start() => Stopwatch.GetTimestamp();

    /// <summary>Adds the time since <paramref name="started"/> (a <see cref="Start"/> value) to <paramref name="part"/>.</summary>
    public void Add(Part part, long started)
    {
        var elapsed = Stopwatch.GetTimestamp() - started;
        Interlocked.Add(ref _ticks[(int)part], elapsed);
        var max = Volatile.Read(ref _max[(int)part]);
        while (elapsed > max && Interlocked.CompareExchange(ref _max[(int)part], elapsed, max) is var seen && seen != max)
        {
            max = seen;
        }
    }

    public void EpochCompleted() => Interlocked.Increment(ref _epochs);

    public int Epochs => Volatile.Read(ref _epochs);

    /// <summary>The mean milliseconds per epoch of one part (0 before the first epoch).</summary>
    public double PerEpochMs(Part part) => Epochs == 0 ? 0 : Ms(Volatile.Read(ref _ticks[(int)part])) / Epochs;

    /// <summary>
    /// One line with each part's mean per epoch and its longest single piece, as <c>name=mean/longest</c> in ms; null
    /// before the first epoch.
    /// </summary>
    public string? Summary()
    {
        if (Epochs == 0)
        {
            return null;
        }

        var line = new StringBuilder().Append(CultureInfo.InvariantCulture, $"Persistence per epoch, mean of {Epochs} epoch(s), as mean/longest single wait or write in ms: on the training thread");
        for (var part = 0; part < Names.Length; part++)
        {
            if (part == (int)Part.StepWrites)
            {
                line.Append("; in the background");
            }

            line.Append(CultureInfo.InvariantCulture, $" {Names[part]}={PerEpochMs((Part)part):F1}/{Ms(Volatile.Read(ref _max[part])):F1}");
        }

        return line.Append('.').ToString();
    }

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}
