namespace Dashboard.Runs.Datasets;

/// <summary>Files under the data folder that readers, in this process or another sharing the folder, see whole or not at all.</summary>
internal static class AtomicFile
{
    /// <summary>
    /// Writes to a temporary file of its own (a unique name, as several processes may store the same upload at once),
    /// then renames it over <paramref name="path"/>.
    /// </summary>
    public static async Task WriteAsync(string path, Func<Stream, Task> write)
    {
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            await using (var stream = File.Create(temporary))
            {
                await write(stream);
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
