using System.Reflection;
using System.Security.Cryptography;
using Dashboard.Engine.Models;
using Dashboard.Plugins;

namespace Dashboard.Runs.Plugins;

/// <summary>A plugin that loaded: which build, from where, and what it added.</summary>
public sealed record LoadedPlugin(PluginIdentity Identity, string Folder, IReadOnlyList<string> Models, IReadOnlyList<string> Datasets);

/// <summary>Something about a plugin (or a plugin folder) that did not work, with the exception's message.</summary>
public sealed record PluginProblem(string Plugin, string Folder, string Message);

/// <summary>
/// The plugins of <c>Training:Plugins</c>: each folder's plugin assemblies loaded once at start-up, their models and
/// datasets collected for the registries, and everything that went wrong recorded rather than thrown. A broken plugin
/// costs its own models, never the server.
/// </summary>
public sealed partial class PluginCatalog
{
    private readonly Lock _lock = new();
    private readonly List<LoadedPlugin> _loaded = [];
    private readonly List<PluginProblem> _problems = [];
    private readonly List<(PluginIdentity Plugin, string Folder, PluginModel Model)> _models = [];
    private readonly List<(PluginIdentity Plugin, string Folder, IDatasetSource Dataset)> _datasets = [];
    private readonly HashSet<string> _assemblyNames = new(StringComparer.OrdinalIgnoreCase);

    private PluginCatalog()
    {
    }

    public IReadOnlyList<LoadedPlugin> Loaded
    {
        get
        {
            lock (_lock)
            {
                return [.. _loaded];
            }
        }
    }

    public IReadOnlyList<PluginProblem> Problems
    {
        get
        {
            lock (_lock)
            {
                return [.. _problems];
            }
        }
    }

    /// <summary>Loads every plugin assembly in <paramref name="folders"/> (absolute paths); never throws for a plugin's fault.</summary>
    public static PluginCatalog Load(IEnumerable<string> folders)
    {
        var catalog = new PluginCatalog();
        foreach (var folder in folders.Distinct(StringComparer.Ordinal))
        {
            catalog.LoadFolder(folder);
        }

        return catalog;
    }

    private void LoadFolder(string folder)
    {
        if (!Directory.Exists(folder))
        {
            AddProblem(Path.GetFileName(folder.TrimEnd(Path.DirectorySeparatorChar)), folder, "The plugin folder does not exist.");
            return;
        }

        // A plugin's build output: its dll beside its .deps.json; its own dependencies have no .deps.json of their own.
        var assemblies = Directory.EnumerateFiles(folder, "*.deps.json")
            .Select(deps => Path.Combine(folder, Path.GetFileName(deps)[..^".deps.json".Length] + ".dll"))
            .Where(File.Exists)
            .Order(StringComparer.Ordinal)
            .ToList();
        if (assemblies.Count == 0)
        {
            AddProblem(Path.GetFileName(folder), folder, "The folder holds no plugin assembly (a .dll beside its .deps.json, as `dotnet build` writes).");
        }

        foreach (var path in assemblies)
        {
            LoadAssembly(path, folder);
        }
    }

    private void LoadAssembly(string path, string folder)
    {
        var name = Path.GetFileNameWithoutExtension(path);
        if (!_assemblyNames.Add(name))
        {
            AddProblem(name, folder, "A plugin of this name was already loaded from another folder; this copy is ignored.");
            return;
        }

        Assembly assembly;
        Type[] entries;
        PluginIdentity identity;
        try
        {
            assembly = new PluginLoadContext(path).LoadFromAssemblyPath(path);
            entries = [.. assembly.GetTypes().Where(t => t is { IsClass: true, IsAbstract: false, IsPublic: true } && typeof(IDashboardPlugin).IsAssignableFrom(t))];
            identity = new PluginIdentity(
                assembly.GetName().Name ?? name,
                assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? assembly.GetName().Version?.ToString() ?? "0",
                Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            AddProblem(name, folder, $"The assembly could not be loaded: {Message(e)}");
            return;
        }

        if (entries.Length == 0)
        {
            AddProblem(identity.Name, folder, $"No public class implements {nameof(IDashboardPlugin)}.");
            return;
        }

        var models = new List<string>();
        var datasets = new List<string>();
        foreach (var entry in entries)
        {
            var registrar = new Registrar();
            try
            {
                ((IDashboardPlugin)Activator.CreateInstance(entry)!).Register(registrar);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // What the entry registered before it threw is dropped with it: a half-registered plugin is not one.
                AddProblem(identity.Name, folder, $"{entry.Name} failed to register: {Message(e)}");
                continue;
            }

            _models.AddRange(registrar.Models.Select(m => (identity, folder, m)));
            _datasets.AddRange(registrar.Datasets.Select(d => (identity, folder, d)));
            models.AddRange(registrar.Models.Select(m => m.Name));
            datasets.AddRange(registrar.Datasets.Select(d => d.Info.Name));
        }

        lock (_lock)
        {
            _loaded.Add(new LoadedPlugin(identity, folder, models, datasets));
        }
    }

    private void AddProblem(string plugin, string folder, string message)
    {
        lock (_lock)
        {
            _problems.Add(new PluginProblem(plugin, folder, message));
        }
    }

    /// <summary>A constructor's or Register's own exception, not the reflection wrapper around it.</summary>
    private static string Message(Exception e) =>
        e is TargetInvocationException { InnerException: { } inner } ? $"{inner.GetType().Name}: {inner.Message}" : $"{e.GetType().Name}: {e.Message}";

    private sealed class Registrar : IPluginRegistrar
    {
        public List<PluginModel> Models { get; } = [];

        public List<IDatasetSource> Datasets { get; } = [];

        public void AddModel(PluginModel model) => Models.Add(model ?? throw new ArgumentNullException(nameof(model)));

        public void AddDataset(IDatasetSource dataset) => Datasets.Add(dataset ?? throw new ArgumentNullException(nameof(dataset)));
    }
}
