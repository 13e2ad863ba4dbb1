using System.Text;

namespace Dashboard.ServerProcess;

/// <summary>
/// The child process's stdout and stderr, interleaved as they arrive, for failure messages. Bounded, because a long run
/// logs steadily and a test only ever needs the recent past.
/// </summary>
public sealed class OutputBuffer
{
    private const int MaxChars = 256 * 1024;

    private readonly Lock _lock = new();
    private readonly StringBuilder _text = new();

    public void AppendLine(string stream, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            _text.Append('[').Append(stream).Append("] ").AppendLine(line);
            if (_text.Length > MaxChars)
            {
                _text.Remove(0, _text.Length - (MaxChars * 3 / 4));
                _text.Insert(0, "[…earlier output dropped…]" + Environment.NewLine);
            }
        }
    }

    public override string ToString()
    {
        lock (_lock)
        {
            return _text.ToString();
        }
    }

    /// <summary>The last <paramref name="maxChars"/> characters: enough context for an assertion message.</summary>
    public string Tail(int maxChars = 8000)
    {
        lock (_lock)
        {
            return _text.Length <= maxChars ? _text.ToString() : "…" + _text.ToString(_text.Length - maxChars, maxChars);
        }
    }
}
