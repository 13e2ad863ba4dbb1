namespace Dashboard.TestSupport;

/// <summary>Waits for a condition by asking again and again until a deadline: no fixed sleeps that are too short on a busy box.</summary>
public static class Poll
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Calls <paramref name="probe"/> until <paramref name="isDone"/> holds for its answer, and returns that answer.
    /// <paramref name="isFailed"/> stops early with a message when the answer shows the condition can never hold.
    /// </summary>
    public static async Task<T> UntilAsync<T>(
        Func<CancellationToken, Task<T>> probe,
        Func<T, bool> isDone,
        TimeSpan timeout,
        string description,
        Func<T, string?>? isFailed = null,
        Func<string>? diagnostics = null,
        TimeSpan? interval = null)
    {
        using var deadline = new CancellationTokenSource(timeout);
        var last = default(T);
        var hasLast = false;
        Exception? lastError = null;
        while (true)
        {
            try
            {
                last = await probe(deadline.Token);
                hasLast = true;
                lastError = null;
                if (isDone(last))
                {
                    return last;
                }

                if (isFailed?.Invoke(last) is { } failure)
                {
                    throw new PollFailedException($"Gave up waiting for {description}: {failure}{Extra(diagnostics)}");
                }
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !deadline.IsCancellationRequested)
            {
                // A request that fails while the server is busy or restarting is asked again, not fatal.
                lastError = e;
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                break;
            }

            try
            {
                await Task.Delay(interval ?? DefaultInterval, deadline.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        var lastSeen = hasLast ? $" Last answer: {Describe(last)}." : "";
        var error = lastError is null ? "" : $" Last error: {lastError.GetType().Name}: {lastError.Message}.";
        throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {description}.{lastSeen}{error}{Extra(diagnostics)}");
    }

    private static string Describe<T>(T value) => value switch
    {
        null => "null",
        System.Collections.IEnumerable list and not string => $"[{string.Join(", ", list.Cast<object?>())}]",
        _ => value.ToString() ?? "",
    };

    private static string Extra(Func<string>? diagnostics) => diagnostics is null ? "" : Environment.NewLine + diagnostics();
}

/// <summary>A wait that ended early because what it waited for can no longer happen.</summary>
public sealed class PollFailedException(string message) : Exception(message);
