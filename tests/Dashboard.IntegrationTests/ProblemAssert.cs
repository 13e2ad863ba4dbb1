using System.Net;
using System.Text.Json;

namespace Dashboard.IntegrationTests;

/// <summary>Checks RFC 7807 answers as the scripting contract promises them.</summary>
internal static class ProblemAssert
{
    public const string ProblemJson = "application/problem+json";

    /// <summary>Asserts status code, content type and the body's <c>status</c>; returns the parsed body.</summary>
    public static async Task<JsonElement> IsProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"Expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        Assert.Equal(ProblemJson, response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement.Clone();
        Assert.Equal((int)expected, root.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("title").GetString()), $"The problem has no title: {body}");
        return root;
    }

    /// <summary>A 400 whose <c>errors</c> name exactly <paramref name="fields"/>; returns the errors object.</summary>
    public static async Task<JsonElement> IsValidationProblemAsync(HttpResponseMessage response, params string[] fields)
    {
        var problem = await IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.TryGetProperty("errors", out var errors), $"The problem has no errors: {problem}");
        Assert.Equal(fields.Order(StringComparer.Ordinal), errors.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        foreach (var field in errors.EnumerateObject())
        {
            Assert.Contains(field.Value.EnumerateArray(), m => !string.IsNullOrWhiteSpace(m.GetString()));
        }

        return errors;
    }
}
