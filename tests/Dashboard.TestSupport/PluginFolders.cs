namespace Dashboard.TestSupport;

/// <summary>
/// The build output folders of the sample plugin and the broken test plugins, as <c>Training:Plugins</c> names them.
/// The test projects reference both projects (without their assemblies) so the build makes them first.
/// </summary>
public static class PluginFolders
{
    public static string Sample => Output("samples/SamplePlugin", "SamplePlugin");

    public static string Broken => Output("tests/Dashboard.TestPlugins.Broken", "Dashboard.TestPlugins.Broken");

    /// <summary><paramref name="project"/>/bin/&lt;the tests' own configuration&gt;/&lt;framework&gt;, which must hold the dll.</summary>
    private static string Output(string project, string assembly)
    {
        // The tests run from tests/<Project>/bin/<Configuration>/<framework>/: the plugin was built alike.
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = here.Name;
        var configuration = here.Parent!.Name;
        var root = here;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Dashboard.sln")))
        {
            root = root.Parent;
        }

        var folder = Path.Combine(root?.FullName ?? throw new InvalidOperationException($"No Dashboard.sln above {here.FullName}."), project, "bin", configuration, framework);
        return File.Exists(Path.Combine(folder, assembly + ".dll"))
            ? folder
            : throw new InvalidOperationException($"{assembly}.dll is not in {folder}; build the solution first.");
    }
}
