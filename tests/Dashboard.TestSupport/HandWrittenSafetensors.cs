using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Dashboard.TestSupport;

/// <summary>
/// safetensors files written byte by byte from the format's description, independently of the app's own writer, so the
/// tests read files from a producer other than the code they test.
/// </summary>
public static class HandWrittenSafetensors
{
    /// <summary>A file of float32 tensors, in the order given.</summary>
    public static byte[] Write(params (string Name, long[] Shape, float[] Values)[] tensors)
    {
        var entries = new List<string>();
        var data = new List<byte>();
        foreach (var (name, shape, values) in tensors)
        {
            var bytes = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
            entries.Add($"\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{data.Count},{data.Count + bytes.Length}]}}");
            data.AddRange(bytes);
        }

        return WithHeader("{" + string.Join(",", entries) + "}", [.. data]);
    }

    /// <summary>The 8-byte little-endian header length, the header, then <paramref name="data"/>.</summary>
    public static byte[] WithHeader(string header, byte[] data)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        data.CopyTo(file, 8 + json.Length);
        return file;
    }
}
