using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Dashboard.Data;
using Dashboard.Engine.Export;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Runs.Exports;

/// <summary>
/// Downloads of a run's recorded curves. Steps are read and written one row at a time, never gathered: a long run has
/// millions, and a download must not hold them all in memory.
/// </summary>
public sealed class RunExports(IDbContextFactory<DashboardDbContext> dbFactory)
{
    /// <summary>Bytes gathered before they are handed on to the stream: large enough that flushes are rare.</summary>
    private const int FlushBytes = 32 * 1024;

    public async Task<bool> ExistsAsync(int runId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Runs.AnyAsync(r => r.Id == runId, cancellationToken);
    }

    /// <summary>The run's steps in [<paramref name="from"/>, <paramref name="to"/>], streamed in step order.</summary>
    public async IAsyncEnumerable<StepRow> StepsAsync(int runId, long from, long to, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await foreach (var row in StepMetricReader.ReadAsync(db, runId, from, to, cancellationToken))
        {
            yield return row;
        }
    }

    /// <summary>Writes the steps as CSV (<see cref="RunCsv.StepsHeader"/> and one line per step) to <paramref name="output"/>.</summary>
    public async Task WriteStepsCsvAsync(int runId, long from, long to, Stream output, CancellationToken cancellationToken = default)
    {
        // No BOM: the first bytes are the header, as every CSV reader expects.
        await using var writer = new StreamWriter(output, new UTF8Encoding(false), FlushBytes, leaveOpen: true) { NewLine = "\n" };
        await writer.WriteLineAsync(RunCsv.StepsHeader);
        await foreach (var row in StepsAsync(runId, from, to, cancellationToken))
        {
            await writer.WriteLineAsync(RunCsv.StepLine(row));
        }
    }

    /// <summary>
    /// Writes the steps as a JSON array of <c>{ "step", "epoch", "loss" }</c>. A non-finite loss is written as a string
    /// ("NaN"), as <see cref="Contracts.JsonDefaults"/> writes it elsewhere, rather than failing halfway through a download.
    /// </summary>
    public async Task WriteStepsJsonAsync(int runId, long from, long to, Stream output, CancellationToken cancellationToken = default)
    {
        await using var json = new Utf8JsonWriter(output);
        json.WriteStartArray();
        await foreach (var row in StepsAsync(runId, from, to, cancellationToken))
        {
            json.WriteStartObject();
            json.WriteNumber("step", row.Step);
            json.WriteNumber("epoch", row.Epoch);
            if (double.IsFinite(row.Loss))
            {
                json.WriteNumber("loss", row.Loss);
            }
            else
            {
                json.WriteString("loss", RunCsv.Number(row.Loss));
            }

            json.WriteEndObject();
            if (json.BytesPending > FlushBytes)
            {
                await json.FlushAsync(cancellationToken);
            }
        }

        json.WriteEndArray();
        await json.FlushAsync(cancellationToken);
    }

    /// <summary>
    /// Writes the run as a TensorBoard event file: the per-epoch scalars under <c>epoch/…</c> (named as the JSON fields;
    /// an accuracy the run has not got is left out) and every step's loss under <c>step/loss</c>. Epoch scalars are put at
    /// the run's step count when the epoch ended, so both curves share TensorBoard's step axis. Steps carry no time of their
    /// own: each gets its epoch's end time (the run's creation for an epoch not yet recorded).
    /// </summary>
    /// <returns>False, writing nothing, when there is no such run.</returns>
    public async Task<bool> WriteTensorBoardAsync(int runId, Stream output, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var created = await db.Runs.Where(r => r.Id == runId).Select(r => (DateTime?)r.CreatedAt).SingleOrDefaultAsync(cancellationToken);
        if (created is null)
        {
            return false;
        }

        var metrics = await db.EpochMetrics.AsNoTracking().Where(m => m.RunId == runId).OrderBy(m => m.Epoch).ToListAsync(cancellationToken);
        var runTime = UnixSeconds(created.Value);
        var epochTimes = metrics.ToDictionary(m => m.Epoch, m => UnixSeconds(m.CreatedAt));
        var writer = new TfEventWriter(output);
        writer.WriteFileVersion(runTime);
        foreach (var m in metrics)
        {
            var time = epochTimes[m.Epoch];
            writer.WriteScalar("epoch/loss", m.Step, (float)m.Loss, time);
            writer.WriteScalar("epoch/valLoss", m.Step, (float)m.ValLoss, time);
            if (m.Accuracy is { } accuracy)
            {
                writer.WriteScalar("epoch/accuracy", m.Step, (float)accuracy, time);
            }

            if (m.ValAccuracy is { } valAccuracy)
            {
                writer.WriteScalar("epoch/valAccuracy", m.Step, (float)valAccuracy, time);
            }

            if (m.Mae is { } mae)
            {
                writer.WriteScalar("epoch/mae", m.Step, (float)mae, time);
            }

            if (m.ValMae is { } valMae)
            {
                writer.WriteScalar("epoch/valMae", m.Step, (float)valMae, time);
            }

            writer.WriteScalar("epoch/learningRate", m.Step, (float)m.LearningRate, time);
        }

        await foreach (var row in StepMetricReader.ReadAsync(db, runId, 0, long.MaxValue, cancellationToken))
        {
            writer.WriteScalar("step/loss", row.Step, (float)row.Loss, epochTimes.GetValueOrDefault(row.Epoch, runTime));
            if (writer.ShouldFlush)
            {
                await writer.FlushAsync(cancellationToken);
            }
        }

        await writer.FlushAsync(cancellationToken);
        return true;
    }

    /// <summary>SQLite hands dates back unspecified; they are stored in UTC.</summary>
    private static double UnixSeconds(DateTime utc) => (DateTime.SpecifyKind(utc, DateTimeKind.Utc) - DateTime.UnixEpoch).TotalSeconds;
}
