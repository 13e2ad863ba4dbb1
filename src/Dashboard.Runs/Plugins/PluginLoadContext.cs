using System.Reflection;
using System.Runtime.Loader;

namespace Dashboard.Runs.Plugins;

/// <summary>
/// One plugin assembly's load context: its own dependencies come from its folder (through its <c>.deps.json</c>), but
/// every assembly the host itself ships (TorchSharp, Dashboard.Plugins, the framework) is left to the default context,
/// so a plugin's <c>Module</c> and <c>IDatasetSource</c> are the host's types and not look-alikes that fail to cast.
/// Not collectible: a model built from a plugin lives as long as any run that uses it, so unloading is never safe.
/// </summary>
internal sealed class PluginLoadContext(string assemblyPath) : AssemblyLoadContext($"plugin:{Path.GetFileName(assemblyPath)}", isCollectible: false)
{
    /// <summary>Simple names of the assemblies the host was started with (its trusted platform assemblies).</summary>
    private static readonly Lazy<HashSet<string>> HostAssemblies = new(() =>
        ((AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string) ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(Path.GetFileNameWithoutExtension)
            .OfType<string>()
            .ToHashSet(StringComparer.OrdinalIgnoreCase));

    private readonly AssemblyDependencyResolver _resolver = new(assemblyPath);

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        // Null hands the request to the default context: shared types unify only if they are loaded once, there.
        if (assemblyName.Name is { } name && (HostAssemblies.Value.Contains(name) || Default.Assemblies.Any(a => a.GetName().Name == name)))
        {
            return null;
        }

        return _resolver.ResolveAssemblyToPath(assemblyName) is { } path ? LoadFromAssemblyPath(path) : null;
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName) =>
        _resolver.ResolveUnmanagedDllToPath(unmanagedDllName) is { } path ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;
}
