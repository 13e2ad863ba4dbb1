namespace Dashboard.UnitTests.Architecture;

/// <summary>One namespace needing another, with where and why (for messages a reader can act on).</summary>
public sealed record Dependency(string From, string To, string Evidence);

/// <summary>
/// The C# and Razor files under <c>src/</c> and the namespace dependencies they make: using directives, fully (or
/// partly) qualified names, and the implicit edge to an enclosing namespace whose type code names without a using.
/// </summary>
public sealed class SourceTree
{
    private readonly Dictionary<string, HashSet<string>> _typesByNamespace = new(StringComparer.Ordinal);
    private readonly HashSet<string> _namespacePrefixes = new(StringComparer.Ordinal);

    public SourceTree(IEnumerable<SourceFile> files)
    {
        Files = [.. files];
        foreach (var file in Files.Where(f => f.Namespace is not null))
        {
            if (!_typesByNamespace.TryGetValue(file.Namespace!, out var types))
            {
                _typesByNamespace[file.Namespace!] = types = new HashSet<string>(StringComparer.Ordinal);
            }

            types.UnionWith(file.DeclaredTypes);
            var parts = file.Namespace!.Split('.');
            for (var i = 1; i <= parts.Length; i++)
            {
                _namespacePrefixes.Add(string.Join('.', parts[..i]));
            }
        }
    }

    public IReadOnlyList<SourceFile> Files { get; }

    public IReadOnlyCollection<string> Namespaces => _typesByNamespace.Keys;

    /// <summary>The folder holding Dashboard.sln, found by walking up from the test assembly.</summary>
    public static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Dashboard.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Dashboard.sln above {AppContext.BaseDirectory}.");
    }

    /// <summary>Every file under <c>src/</c> with one of <paramref name="extensions"/>, build output left out.</summary>
    public static IEnumerable<string> SourcePaths(string root, params string[] extensions) =>
        Directory.EnumerateFiles(Path.Combine(root, "src"), "*", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(root, path).Replace('\\', '/'))
            .Where(path => !path.Contains("/bin/", StringComparison.Ordinal) && !path.Contains("/obj/", StringComparison.Ordinal))
            .Where(path => extensions.Any(e => path.EndsWith(e, StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal);

    public static SourceTree Load(string root) =>
        new(SourcePaths(root, ".cs", ".razor").Select(path => SourceFile.Parse(path, File.ReadAllText(Path.Combine(root, path)))));

    public IEnumerable<Dependency> Dependencies() => Files.SelectMany(Dependencies);

    public IEnumerable<Dependency> Dependencies(SourceFile file)
    {
        if (file.RelativePath.EndsWith("/_Imports.razor", StringComparison.Ordinal))
        {
            yield break; // its usings count where components use them (below)
        }

        var from = file.Namespace ?? $"(global namespace of {file.RelativePath})";
        var names = file.SimpleNames.GroupBy(n => n.Name).ToDictionary(g => g.Key, g => g.First().Line, StringComparer.Ordinal);

        foreach (var directive in file.IsRazor ? [.. file.Usings, .. InheritedRazorUsings(file)] : file.Usings)
        {
            if (ResolveNamespace(directive.Target) is not { } target || target == from)
            {
                continue;
            }

            var used = names.Keys.Where(_typesByNamespace[target].Contains).Order(StringComparer.Ordinal).ToList();
            // The compiler reports an unused C# using (IDE0005), so one there is needed even when it only brings extension
            // methods; Razor's are not checked, so there only a named type makes one count.
            if (file.IsRazor && used.Count == 0 && directive.Target == target)
            {
                continue;
            }

            var uses = used.Count == 0 ? "" : $" (uses {string.Join(", ", used)})";
            var where = directive.File is { } imports ? $"{file.RelativePath}: {imports}:{directive.Line}" : $"{file.RelativePath}:{directive.Line}";
            yield return new Dependency(from, target, $"{where}: using {directive.Target}{uses}");
        }

        if (file.Namespace is not null)
        {
            var own = _typesByNamespace[file.Namespace];
            foreach (var (name, line) in names)
            {
                if (own.Contains(name))
                {
                    continue;
                }

                // C# looks a simple name up in the file's namespace, then in each enclosing one, before any using.
                if (Enclosing(file.Namespace).FirstOrDefault(p => _typesByNamespace.TryGetValue(p, out var t) && t.Contains(name)) is { } parent)
                {
                    yield return new Dependency(from, parent, $"{file.RelativePath}:{line}: names {name}, declared in the enclosing {parent}");
                }
            }
        }

        foreach (var dotted in file.DottedNames)
        {
            if (ResolveQualified(file.Namespace, dotted.Name) is { } target && target != from)
            {
                yield return new Dependency(from, target, $"{file.RelativePath}:{dotted.Line}: qualified name {dotted.Name}");
            }
        }
    }

    /// <summary>Namespaces that depend on each other in a ring (strongly connected, more than one), each sorted.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> Cycles(IEnumerable<Dependency> dependencies)
    {
        var graph = dependencies.GroupBy(d => d.From)
            .ToDictionary(g => g.Key, g => g.Select(d => d.To).Distinct().ToList(), StringComparer.Ordinal);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<IReadOnlyList<string>>();

        // Tarjan's strongly connected components; the graph is a few dozen namespaces, so recursion is fine.
        void Visit(string node)
        {
            index[node] = low[node] = index.Count;
            stack.Push(node);
            onStack.Add(node);
            foreach (var next in graph.GetValueOrDefault(node) ?? [])
            {
                if (!index.ContainsKey(next))
                {
                    Visit(next);
                    low[node] = Math.Min(low[node], low[next]);
                }
                else if (onStack.Contains(next))
                {
                    low[node] = Math.Min(low[node], index[next]);
                }
            }

            if (low[node] == index[node])
            {
                var component = new List<string>();
                string member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                }
                while (member != node);

                if (component.Count > 1)
                {
                    result.Add([.. component.Order(StringComparer.Ordinal)]);
                }
            }
        }

        foreach (var node in graph.Keys.Order(StringComparer.Ordinal).Where(n => !index.ContainsKey(n)))
        {
            Visit(node);
        }

        return result;
    }

    /// <summary>The longest declared namespace that <paramref name="target"/> is or starts with (a using static names a type).</summary>
    private string? ResolveNamespace(string target)
    {
        var parts = target.Split('.');
        for (var i = parts.Length; i > 0; i--)
        {
            var candidate = string.Join('.', parts[..i]);
            if (_typesByNamespace.ContainsKey(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>
    /// The namespace a dotted name reaches when it names a type through a namespace: <c>Dashboard.Runs.Management.RunService</c>
    /// from anywhere, or <c>Management.RunService</c> from inside <c>Dashboard.Runs</c>. Null for member access.
    /// </summary>
    private string? ResolveQualified(string? fileNamespace, string dotted)
    {
        var parts = dotted.Split('.');
        IEnumerable<string> contexts = fileNamespace is null ? [""] : [fileNamespace, .. Enclosing(fileNamespace), ""];
        foreach (var context in contexts)
        {
            string Join(int count) => context.Length == 0 ? string.Join('.', parts[..count]) : $"{context}.{string.Join('.', parts[..count])}";
            if (!_namespacePrefixes.Contains(Join(1)))
            {
                continue;
            }

            for (var count = parts.Length - 1; count >= 1; count--)
            {
                if (_typesByNamespace.TryGetValue(Join(count), out var types) && types.Contains(parts[count]))
                {
                    return Join(count);
                }
            }

            return null;
        }

        return null;
    }

    /// <summary>The usings of every <c>_Imports.razor</c> in the component's folder and the folders above it.</summary>
    private IEnumerable<UsingDirective> InheritedRazorUsings(SourceFile component)
    {
        var folder = component.RelativePath[..component.RelativePath.LastIndexOf('/')];
        return Files
            .Where(f => f.RelativePath.EndsWith("/_Imports.razor", StringComparison.Ordinal))
            .Where(f => folder.StartsWith(f.RelativePath[..f.RelativePath.LastIndexOf('/')], StringComparison.Ordinal))
            .SelectMany(f => f.Usings.Select(u => u with { File = f.RelativePath }));
    }

    /// <summary><c>A.B.C</c> → <c>A.B</c>, <c>A</c>: the namespaces whose types code in <c>A.B.C</c> sees unqualified.</summary>
    private static IEnumerable<string> Enclosing(string ns)
    {
        for (var dot = ns.LastIndexOf('.'); dot > 0; dot = ns.LastIndexOf('.', dot - 1))
        {
            yield return ns[..dot];
        }
    }
}
