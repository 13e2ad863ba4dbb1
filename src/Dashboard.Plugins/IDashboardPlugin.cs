namespace Dashboard.Plugins;

/// <summary>
/// The entry point of a plugin assembly. The dashboard finds every public, non-abstract class implementing it in the
/// assembly, creates it with its parameterless constructor and calls <see cref="Register"/> once at start-up.
/// </summary>
public interface IDashboardPlugin
{
    /// <summary>Adds the plugin's model architectures and datasets. An exception here is reported, never fatal.</summary>
    void Register(IPluginRegistrar registrar);
}

/// <summary>What a plugin hands to the dashboard. Names must not clash with built-in ones or other plugins'.</summary>
public interface IPluginRegistrar
{
    void AddModel(PluginModel model);

    void AddDataset(IDatasetSource dataset);
}
