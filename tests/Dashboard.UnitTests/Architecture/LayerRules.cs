using System.Xml.Linq;

namespace Dashboard.UnitTests.Architecture;

/// <summary>
/// The layering the projects keep: Engine and Data at the bottom, knowing nothing of each other; Runs (the core) above
/// both and below the web host, with no ASP.NET; the pages speaking only the configuration vocabulary of the engine.
/// Each rule returns its violations as lines a reader can act on; none means the rule holds.
/// </summary>
public static class LayerRules
{
    /// <summary>What each project's code and project file must not name: the layers above it (and ASP.NET for the core).</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Forbidden = new Dictionary<string, string[]>
    {
        ["Dashboard.Plugins"] = ["Dashboard.Engine", "Dashboard.Data", "Dashboard.Runs", "Dashboard.Web"],
        ["Dashboard.Engine"] = ["Dashboard.Data", "Dashboard.Runs", "Dashboard.Web"],
        ["Dashboard.Data"] = ["Dashboard.Engine", "Dashboard.Runs", "Dashboard.Web"],
        ["Dashboard.Data.Postgres"] = ["Dashboard.Engine", "Dashboard.Runs", "Dashboard.Web"],
        ["Dashboard.Runs"] = ["Dashboard.Web", "Dashboard.Jobs", "Dashboard.Worker", "Microsoft.AspNetCore", "Hangfire"],

        // The job engine's wiring is shared by both hosts, so it knows neither of them, nor ASP.NET.
        ["Dashboard.Jobs"] = ["Dashboard.Web", "Dashboard.Worker", "Microsoft.AspNetCore"],
        ["Dashboard.Worker"] = ["Dashboard.Web", "Microsoft.AspNetCore"],
    };

    /// <summary>The engine namespaces whose types the API's JSON is made of, and so the only ones the pages may import.</summary>
    public static readonly IReadOnlySet<string> ComponentEngineVocabulary = new HashSet<string>
    {
        "Dashboard.Engine.Configuration",
        "Dashboard.Engine.Policies",
    };

    public const int MaxLines = 400;

    /// <param name="include">The files whose dependencies count (all by default).</param>
    public static IEnumerable<string> NamespaceCycles(SourceTree tree, Func<SourceFile, bool>? include = null)
    {
        var dependencies = tree.Files.Where(include ?? (_ => true)).SelectMany(tree.Dependencies).ToList();
        foreach (var cycle in SourceTree.Cycles(dependencies))
        {
            var members = cycle.ToHashSet(StringComparer.Ordinal);
            var inside = dependencies.Where(d => members.Contains(d.From) && members.Contains(d.To))
                .GroupBy(d => $"{d.From} -> {d.To}")
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => $"  {g.Key}:{Environment.NewLine}{string.Join(Environment.NewLine, g.Select(d => "    " + d.Evidence).Distinct())}");
            yield return $"cycle among {string.Join(", ", cycle)}:{Environment.NewLine}{string.Join(Environment.NewLine, inside)}";
        }
    }

    /// <summary>Code of a project that names a namespace of a layer above it (using directive, qualified name or dependency).</summary>
    public static IEnumerable<string> UpwardReferencesInCode(SourceTree tree)
    {
        foreach (var file in tree.Files)
        {
            if (!Forbidden.TryGetValue(file.Project, out var forbidden))
            {
                continue;
            }

            var reported = new HashSet<int>();
            foreach (var directive in file.Usings.Where(u => forbidden.Any(f => IsWithin(u.Target, f))))
            {
                reported.Add(directive.Line);
                yield return $"{file.RelativePath}:{directive.Line}: using {directive.Target} ({file.Project} must not use {Matching(forbidden, directive.Target)})";
            }

            foreach (var name in file.DottedNames.Where(n => forbidden.Any(f => n.Name.StartsWith(f + ".", StringComparison.Ordinal))))
            {
                reported.Add(name.Line);
                yield return $"{file.RelativePath}:{name.Line}: {name.Name} ({file.Project} must not use {Matching(forbidden, name.Name)})";
            }

            // What the two above miss: names qualified relative to an enclosing namespace (Web.Hubs.TrainingHub in Dashboard.Runs).
            foreach (var dependency in tree.Dependencies(file).Where(d => forbidden.Any(f => IsWithin(d.To, f))))
            {
                if (!reported.Contains(LineOf(dependency.Evidence)))
                {
                    yield return $"{dependency.Evidence} ({file.Project} must not use {dependency.To})";
                }
            }
        }
    }

    /// <summary>Project files that reference a layer above them: project references, ASP.NET packages, framework or SDK.</summary>
    public static IEnumerable<string> UpwardReferencesInProjects(string root)
    {
        foreach (var (project, forbidden) in Forbidden)
        {
            var path = Path.Combine(root, "src", project, project + ".csproj");
            var document = XDocument.Load(path);
            var sdk = document.Root?.Attribute("Sdk")?.Value ?? "";
            if (forbidden.Contains("Microsoft.AspNetCore") && sdk.StartsWith("Microsoft.NET.Sdk.Web", StringComparison.Ordinal))
            {
                yield return $"src/{project}/{project}.csproj: Sdk=\"{sdk}\" brings ASP.NET";
            }

            foreach (var item in document.Descendants().Where(e => e.Attribute("Include") is not null))
            {
                var include = item.Attribute("Include")!.Value;
                var named = item.Name.LocalName == "ProjectReference" ? Path.GetFileNameWithoutExtension(include.Replace('\\', '/')) : include;
                if (item.Name.LocalName is "ProjectReference" or "PackageReference" or "FrameworkReference" or "Using"
                    && forbidden.FirstOrDefault(f => IsWithin(named, f)) is { } layer)
                {
                    yield return $"src/{project}/{project}.csproj: <{item.Name.LocalName} Include=\"{include}\"> ({project} must not use {layer})";
                }
            }
        }
    }

    /// <summary>Component files (markup, code-behind, imports) importing entities or an engine namespace beyond the vocabulary.</summary>
    public static IEnumerable<string> ComponentImports(SourceTree tree)
    {
        static bool IsForbidden(string name) =>
            IsWithin(name, "Dashboard.Data.Entities")
            || (IsWithin(name, "Dashboard.Engine") && !ComponentEngineVocabulary.Any(allowed => IsWithin(name, allowed)));

        foreach (var file in tree.Files.Where(f => f.RelativePath.StartsWith("src/Dashboard.Web/Components/", StringComparison.Ordinal)))
        {
            foreach (var directive in file.Usings.Where(u => IsForbidden(u.Target)))
            {
                yield return $"{file.RelativePath}:{directive.Line}: using {directive.Target}";
            }

            foreach (var name in file.DottedNames.Where(n => n.Name.StartsWith("Dashboard.", StringComparison.Ordinal) && IsForbidden(n.Name)))
            {
                yield return $"{file.RelativePath}:{name.Line}: {name.Name}";
            }
        }
    }

    /// <summary>Source files under <c>src/</c> longer than <see cref="MaxLines"/>; generated migrations are exempt.</summary>
    public static IEnumerable<string> LongFiles(string root) =>
        SourceTree.SourcePaths(root, ".cs", ".razor", ".js", ".css")
            .Where(path => !path.StartsWith("src/Dashboard.Data/Migrations/", StringComparison.Ordinal)
                && !path.StartsWith("src/Dashboard.Data.Postgres/Migrations/", StringComparison.Ordinal))
            .Select(path => (path, lines: File.ReadLines(Path.Combine(root, path)).Count()))
            .Where(file => file.lines > MaxLines)
            .Select(file => $"{file.path}: {file.lines} lines");

    /// <summary>True when <paramref name="name"/> is <paramref name="ns"/> or inside it (not merely sharing a prefix).</summary>
    private static bool IsWithin(string name, string ns) =>
        name == ns || name.StartsWith(ns + ".", StringComparison.Ordinal);

    /// <summary>The line number in evidence of the form <c>path:line: …</c>.</summary>
    private static int LineOf(string evidence) =>
        int.TryParse(evidence.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture, out var line) ? line : 0;

    private static string Matching(string[] forbidden, string name) => forbidden.First(f => IsWithin(name, f));
}
