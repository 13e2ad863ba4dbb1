using System.Text;
using Sylvan.Data.Csv;

namespace Dashboard.Engine.Datasets.Tabular;

/// <summary>
/// Reads a comma-separated UTF-8 file with a header row, record by record, checking what every pass over an upload must:
/// one header of unique, non-empty names, more than one column, every row as wide as the header, valid UTF-8.
/// </summary>
public static class CsvRows
{
    private const string EmptyFile = "The file is empty: a CSV table needs a header row and data rows.";

    /// <summary>A cell counts as missing when it is empty or blank.</summary>
    public static bool IsMissing(string cell) => string.IsNullOrWhiteSpace(cell);

    /// <summary>The header's column names, then every data row with its 1-based number (the header is not counted).</summary>
    public static IEnumerable<(int Row, string[] Cells)> Read(Stream stream, CsvTableLimits limits, Action<string[]> header)
    {
        // Strict UTF-8: a Latin-1 or UTF-16 file is refused rather than read as replacement characters.
        using var text = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: false, leaveOpen: true);
        CsvDataReader reader;
        try
        {
            // The delimiter is fixed: auto-detection would read a semicolon file "successfully" as something else.
            reader = CsvDataReader.Create(text, new CsvDataReaderOptions { HasHeaders = true, Delimiter = ',', MaxBufferSize = 1 << 20 });
        }
        catch (CsvMissingHeadersException)
        {
            throw new CsvTableException(EmptyFile);
        }
        catch (Exception e) when (e is DecoderFallbackException or CsvFormatException or CsvRecordTooLargeException)
        {
            throw Unreadable(e, "the header");
        }

        using (reader)
        {
            var names = Header(reader, limits);
            header(names);
            var row = 0;
            while (true)
            {
                try
                {
                    if (!reader.Read())
                    {
                        break;
                    }
                }
                catch (Exception e) when (e is DecoderFallbackException or CsvFormatException or CsvRecordTooLargeException)
                {
                    throw Unreadable(e, $"row {row + 1}");
                }

                row++;
                if (row > limits.MaxRows)
                {
                    throw new CsvTableException($"The file has more than {limits.MaxRows:N0} rows.");
                }

                if (reader.RowFieldCount != names.Length)
                {
                    throw new CsvTableException($"Row {row} has {reader.RowFieldCount} cells but the header names {names.Length} columns.");
                }

                var cells = new string[names.Length];
                for (var i = 0; i < cells.Length; i++)
                {
                    cells[i] = reader.GetString(i);
                }

                yield return (row, cells);
            }

            if (row == 0)
            {
                throw new CsvTableException("The file has a header but no data rows.");
            }
        }
    }

    private static string[] Header(CsvDataReader reader, CsvTableLimits limits)
    {
        var count = reader.FieldCount;
        if (count == 0)
        {
            throw new CsvTableException(EmptyFile);
        }

        if (count == 1)
        {
            throw new CsvTableException(
                $"The header has a single column ('{Shorten(reader.GetName(0))}'): the file must be comma-separated, with at least a feature and a target.");
        }

        if (count > limits.MaxColumns)
        {
            throw new CsvTableException($"The file has {count:N0} columns; at most {limits.MaxColumns:N0} are allowed.");
        }

        var names = new string[count];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            names[i] = reader.GetName(i).Trim();
            if (names[i].Length == 0)
            {
                throw new CsvTableException($"Column {i + 1} of the header has no name.");
            }

            if (!seen.Add(names[i]))
            {
                throw new CsvTableException($"The header names column '{Shorten(names[i])}' twice.");
            }
        }

        return names;
    }

    private static CsvTableException Unreadable(Exception e, string where) => e is DecoderFallbackException
        ? new CsvTableException($"The file is not UTF-8 text: an invalid byte sequence in {where}. Save it as UTF-8 CSV.")
        : new CsvTableException($"The file is not a readable CSV table at {where}: {e.Message}");

    internal static string Shorten(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
