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
                new Dictionary<string, string[]> { [field] = [$"The JSON could not be read here: {FirstSentence(e.Message)}"] },
                title: "The request body could not be read."));
        }
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message : message[..(end + 1)];
    }
}
