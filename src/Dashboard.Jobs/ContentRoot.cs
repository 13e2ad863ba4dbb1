namespace Dashboard.Jobs;

/// <summary>Finds the folder whose appsettings.json and wwwroot/ the app uses.</summary>
public static class ContentRoot
{
    public const string Variable = "DASHBOARD_CONTENT_ROOT";

    /// <summary>
    /// The repository root when running from a clone (so the top-level appsettings.json applies without a rebuild);
    /// otherwise the application folder, where the build and publish copy both files.
    /// </summary>
    public static string Locate()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } configured)
        {
            return Path.GetFullPath(configured);
        }

        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Dashboard.sln")) && File.Exists(Path.Combine(folder.FullName, "appsettings.json")))
            {
                return folder.FullName;
            }
        }

        return AppContext.BaseDirectory;
    }
}
