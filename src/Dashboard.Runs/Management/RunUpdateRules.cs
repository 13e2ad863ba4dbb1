using System.Text.RegularExpressions;
using Dashboard.Runs.Contracts;

namespace Dashboard.Runs.Management;

/// <summary>What <c>PATCH /api/runs/{id}</c> and the run page accept as a run's name, tags and notes.</summary>
public static partial class RunUpdateRules
{
    public const int MaxNameLength = 100;

    public const int MaxTags = 20;

    public const int MaxTagLength = 32;

    public const int MaxNotesLength = 20_000;

    /// <summary>Field errors of <paramref name="request"/>, keyed as the JSON fields are; empty when it is valid.</summary>
    public static Dictionary<string, string[]> Validate(UpdateRunRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.Name is { } name && name.Trim() is { Length: < 1 or > MaxNameLength })
        {
            errors["name"] = [$"The name must have 1 to {MaxNameLength} characters (spaces around it do not count)."];
        }

        if (request.Tags is { } tags)
        {
            if (tags.Count > MaxTags)
            {
                errors["tags"] = [$"A run may have at most {MaxTags} tags; {tags.Count} were given."];
            }
            else
            {
                var problems = new List<string>();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                for (var i = 0; i < tags.Count; i++)
                {
                    var tag = tags[i];
                    if (tag is null || !TagPattern().IsMatch(tag))
                    {
                        problems.Add($"Tag {i + 1} must have 1 to {MaxTagLength} characters, each a letter, digit, '-', '_', '.' or ':'.");
                    }
                    else if (!seen.Add(tag))
                    {
                        problems.Add($"The tag '{tag}' is given more than once.");
                    }
                }

                if (problems.Count > 0)
                {
                    errors["tags"] = [.. problems];
                }
            }
        }

        if (request.Notes is { Length: > MaxNotesLength })
        {
            errors["notes"] = [$"Notes may have at most {MaxNotesLength:N0} characters; these have {request.Notes.Length:N0}."];
        }

        return errors;
    }

    /// <summary>True when <paramref name="tag"/> could be a tag, so filtering by it can match something.</summary>
    public static bool IsTag(string tag) => TagPattern().IsMatch(tag);

    // ASCII only: the alphabet keeps tags safe to match inside the stored JSON text and to put in a URL unescaped.
    [GeneratedRegex(@"^[A-Za-z0-9\-_.:]{1,32}$")]
    private static partial Regex TagPattern();
}
