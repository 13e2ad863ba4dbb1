using Dashboard.Plugins;

namespace Dashboard.TestPlugins.Broken;

/// <summary>Throws in Register after adding a model, which must not be kept: a half-registered plugin is not one.</summary>
public sealed class ThrowingRegisterPlugin : IDashboardPlugin
{
    public void Register(IPluginRegistrar registrar)
    {
        registrar.AddModel(new PluginModel("half-registered", "Half", "Registered before the throw.", [], _ => throw new NotSupportedException()));
        throw new InvalidOperationException("broken on purpose in Register");
    }
}

/// <summary>Throws in its constructor.</summary>
public sealed class ThrowingConstructorPlugin : IDashboardPlugin
{
    public ThrowingConstructorPlugin() => throw new InvalidOperationException("broken on purpose in the constructor");

    public void Register(IPluginRegistrar registrar)
    {
    }
}

/// <summary>Registers a model whose build throws, and one whose name clashes with the built-in MLP.</summary>
public sealed class BadModelsPlugin : IDashboardPlugin
{
    public void Register(IPluginRegistrar registrar)
    {
        registrar.AddModel(new PluginModel("bad-build", "Bad build", "Its build throws.", [], _ => throw new InvalidOperationException("broken on purpose in build")));
        registrar.AddModel(new PluginModel("mlp", "Clashing MLP", "Named like a built-in.", [], _ => throw new NotSupportedException()));
    }
}
