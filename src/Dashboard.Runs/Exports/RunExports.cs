using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Dashboard.Data;
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
}
