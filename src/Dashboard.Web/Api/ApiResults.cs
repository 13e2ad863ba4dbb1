using System.Collections;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Dashboard.Runs.Contracts;
using Microsoft.AspNetCore.Http.Features;

namespace Dashboard.Web.Api;

/// <summary>How every route answers: RFC 7807 problem details for refusals, field errors under <c>errors</c>.</summary>
internal static partial class ApiResults
{
    /// <summary>JSON bodies larger than this are refused: the largest real one (an MNIST predict) is about 16 KiB.</summary>
    public const long MaxJsonBytes = 1024 * 1024;

    /// <summary>
    /// Stricter than what the app stores: a misspelt field ("epoch") or one given twice would otherwise be dropped
    /// silently and the run would train with a default the caller never chose.
    /// </summary>
    private static readonly JsonSerializerOptions RequestOptions = new(JsonDefaults.Options)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowDuplicateProperties = false,
    };

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
            StatusCodes.Status507InsufficientStorage => "Insufficient storage",
            StatusCodes.Status429TooManyRequests => "Too many requests",
            _ => "Request refused",
        },
        detail: detail);

    /// <summary>
    /// Reads a JSON body by hand so that malformed JSON, wrong types and unknown fields come back as field errors, like
    /// every other invalid input, rather than as an empty 400. An empty body is allowed when <paramref name="optional"/>.
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

        var tooLarge = Problem(StatusCodes.Status413PayloadTooLarge, $"JSON bodies may be at most {MaxJsonBytes / 1024} KiB.");
        if (request.ContentLength > MaxJsonBytes)
        {
            return (null, tooLarge);
        }

        // A chunked body has no length to check up front; Kestrel stops reading it at the limit instead.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxJsonBytes;
        }

        try
        {
            // Only an empty body stands for "no options"; a literal null is a body that is not an object.
            var body = await JsonSerializer.DeserializeAsync<T>(request.Body, RequestOptions, ct);
            return body is null
                ? (null, TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["The body must be a JSON object."] }))
                : (body, null);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, tooLarge);
        }
        catch (JsonException e)
        {
            var field = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "body" : e.Path.TrimStart('$', '.');
            return (null, TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { [field] = [Explain(e, field, typeof(T))] },
                title: "The request body could not be read."));
        }
    }

    /// <summary>Says what was wrong in words a script author reads, not .NET type names.</summary>
    private static string Explain(JsonException e, string field, Type body)
    {
        var message = e.Message;
        if (message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal))
        {
            return $"'{field}' is not a field of this request; check its spelling.";
        }

        if (message.StartsWith("Duplicate property", StringComparison.Ordinal))
        {
            return $"'{field}' is given more than once.";
        }

        if (message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal) && TargetType(body, field) is { } type)
        {
            return field == "body" ? "The body must be a JSON object." : $"'{field}' must be {Expected(type)}.";
        }

        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return $"The JSON could not be read: {(end < 0 ? message : message[..(end + 1)])}";
    }

    /// <summary>The .NET type a JSON path such as <c>checkpoint.everySteps</c> or <c>freeze[0]</c> lands on, or null.</summary>
    private static Type? TargetType(Type body, string field)
    {
        if (field == "body")
        {
            return body;
        }

        var type = body;
        foreach (Match segment in PathSegment().Matches(field))
        {
            type = Nullable.GetUnderlyingType(type) ?? type;
            if (segment.Groups["index"].Success)
            {
                type = type.IsArray
                    ? type.GetElementType()
                    : type.GetInterfaces().Append(type)
                        .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];
            }
            else
            {
                type = type.GetProperties().FirstOrDefault(p => string.Equals(p.Name, segment.Groups["name"].Value, StringComparison.OrdinalIgnoreCase))?.PropertyType;
            }

            if (type is null)
            {
                return null;
            }
        }

        return type;
    }

    private static string Expected(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return Type.GetTypeCode(type) switch
        {
            TypeCode.Int32 => "a whole number between -2,147,483,648 and 2,147,483,647",
            TypeCode.Int64 => "a whole number",
            TypeCode.Double or TypeCode.Single => "a number",
            TypeCode.Boolean => "true or false",
            TypeCode.String => "a string",
            _ when typeof(IEnumerable).IsAssignableFrom(type) => "a list",
            _ => "an object",
        };
    }

    [GeneratedRegex(@"(?<name>[^.\[\]]+)|\[(?<index>\d+)\]")]
    private static partial Regex PathSegment();
}
