using System.Text.Json;
using Dashboard.Web.Services;

namespace Dashboard.Web.Api;

/// <summary>How every route answers: RFC 7807 problem details for refusals, field errors under <c>errors</c>.</summary>
internal static class ApiResults
{
    public static IResult ToHttp<T>(ServiceResult<T> result, Func<T, IResult> success) => result switch
    {
        { Errors: { } errors } => TypedResults.ValidationProblem(errors),
        { Problem: { } problem, Status: var status } => Problem(status, problem),
        _ => success(result.Value!),
    };

    public static IResult Problem(int status, string detail) => TypedResults.Problem(
        statusCode: status,
        title: status switch
        {
            StatusCodes.Status404NotFound => "Not found",
            StatusCodes.Status409Conflict => "Conflict",
            StatusCodes.Status415UnsupportedMediaType => "Unsupported media type",
            StatusCodes.Status413PayloadTooLarge => "Too large",
            _ => "Request refused",
        },
        detail: detail);

    /// <summary>
    /// Reads a JSON body by hand so that malformed JSON and wrong types come back as field errors, like every other
    /// invalid input, rather than as an empty 400. An empty body is allowed when <paramref name="optional"/>.
    /// </summary>
    public static async Task<(T? Body, IResult? Error)> ReadJsonAsync<T>(HttpRequest request, bool optional, CancellationToken ct)
        where T : class
    {
        if (optional && (request.ContentLength == 0 || (request.ContentLength is null && !request.HasJsonContentType())))
        {
            return (null, null);
        }

        if (!request.HasJsonContentType())
        {
            return (null, Problem(StatusCodes.Status415UnsupportedMediaType, "Send the body as application/json."));
        }

        try
        {
            var body = await JsonSerializer.DeserializeAsync<T>(request.Body, JsonDefaults.Options, ct);
            return body is null && !optional
                ? (null, TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["The body must be a JSON object."] }))
                : (body, null);
        }
        catch (JsonException e)
        {
            var field = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "body" : e.Path.TrimStart('$', '.');
            return (null, TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { [field] = [Explain(e, field)] },
                title: "The request body could not be read."));
        }
    }

    /// <summary>Says what was expected in words a script author reads, not .NET type names.</summary>
    private static string Explain(JsonException e, string field)
    {
        var message = e.Message;
        string? expected =
            message.Contains("Int32", StringComparison.Ordinal) || message.Contains("Int64", StringComparison.Ordinal) ? "a whole number"
            : message.Contains("Double", StringComparison.Ordinal) || message.Contains("Single", StringComparison.Ordinal) ? "a number"
            : message.Contains("Boolean", StringComparison.Ordinal) ? "true or false"
            : message.Contains("String", StringComparison.Ordinal) ? "a string"
            : message.Contains("[]", StringComparison.Ordinal) || message.Contains("List", StringComparison.Ordinal) ? "a list"
            : null;
        if (expected is not null && field != "body")
        {
            return $"'{field}' must be {expected} (in range for its kind).";
        }

        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return $"The JSON could not be read: {(end < 0 ? message : message[..(end + 1)])}";
    }
}
