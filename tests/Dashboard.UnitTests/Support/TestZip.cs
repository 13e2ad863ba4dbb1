using System.IO.Compression;

namespace Dashboard.UnitTests.Support;

/// <summary>Builds a zip in memory from named entries: hand-made bundles, well-formed or not, for the importer.</summary>
public static class TestZip
{
    public static byte[] Of(params (string Name, byte[] Bytes)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, bytes) in entries)
            {
                using var stream = zip.CreateEntry(name, CompressionLevel.Optimal).Open();
                stream.Write(bytes);
            }
        }

        return buffer.ToArray();
    }
}
