using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dashboard.Engine.Export;

/// <summary>One tensor of a safetensors file: float32 data, row-major, with its shape.</summary>
public sealed record NamedTensor(string Name, IReadOnlyList<long> Shape, float[] Data)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>One tensor of a safetensors header: its name, shape and byte range within the data that follows the header.</summary>
public sealed record TensorEntry(string Name, IReadOnlyList<long> Shape, long Start, long End);

/// <summary>A checked safetensors header: its tensors in file order, its metadata, and where the data begins.</summary>
public sealed record SafetensorsHeader(IReadOnlyList<TensorEntry> Tensors, IReadOnlyDictionary<string, string> Metadata, long DataStart);

/// <summary>
/// The safetensors format (as read by <c>safetensors.torch.load_file</c>): an 8-byte little-endian header length, a JSON
/// header mapping each tensor name to dtype, shape and byte offsets (plus free-form string <c>__metadata__</c>), padded
/// with spaces to a multiple of 8, then the raw little-endian tensor bytes.
/// </summary>
public static class Safetensors
{
    public const long MaxHeaderBytes = 100 * 1024 * 1024;

    public static byte[] Write(IReadOnlyList<NamedTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (key, value) in metadata)
            {
                meta[key] = value;
            }

            header["__metadata__"] = meta;
        }

        long offset = 0;
        foreach (var tensor in tensors)
        {
            if (tensor.ElementCount != tensor.Data.Length)
            {
                throw new ArgumentException($"Tensor '{tensor.Name}' has {tensor.Data.Length} values for shape [{string.Join(", ", tensor.Shape)}].");
            }

            var bytes = tensor.Data.LongLength * sizeof(float);
            header[tensor.Name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray([.. tensor.Shape.Select(d => (JsonNode)d)]),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }

        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        var padded = (json.Length + 7) / 8 * 8;
        using var output = new MemoryStream((int)(8 + padded + offset));
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
        output.Write(length);
        output.Write(json);
        for (var i = json.Length; i < padded; i++)
        {
            output.WriteByte((byte)' ');
        }

        foreach (var tensor in tensors)
        {
            var bytes = MemoryMarshal.AsBytes(tensor.Data.AsSpan());
            if (!BitConverter.IsLittleEndian)
            {
                throw new PlatformNotSupportedException("safetensors is little-endian; this host is not.");
            }

            output.Write(bytes);
        }

        return output.ToArray();
    }

    /// <summary>Parses and checks a safetensors file: every tensor F32, offsets contiguous, shapes matching their bytes.</summary>
    public static (IReadOnlyList<NamedTensor> Tensors, IReadOnlyDictionary<string, string> Metadata) Read(ReadOnlySpan<byte> file)
    {
        using var stream = new MemoryStream(file.ToArray(), writable: false);
        var header = ReadHeader(stream);
        return ([.. header.Tensors.Select(t => new NamedTensor(t.Name, t.Shape, ReadTensor(stream, header, t)))], header.Metadata);
    }

    /// <summary>
    /// Reads and checks only the header of a safetensors file: names, dtypes, shapes and offsets, each tensor's bytes within
    /// the file. Nothing of the tensor data is read, so a file can be judged by its header before memory is spent on it.
    /// </summary>
    public static SafetensorsHeader ReadHeader(Stream file)
    {
        var length = file.Length;
        if (length < 8)
        {
            throw new InvalidDataException("Not a safetensors file: shorter than its 8-byte header length.");
        }

        Span<byte> prefix = stackalloc byte[8];
        file.Position = 0;
        file.ReadExactly(prefix);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)Math.Min(MaxHeaderBytes, length - 8))
        {
            throw new InvalidDataException($"The safetensors header claims {headerLength} bytes; the file has {length - 8} after the length.");
        }

        var headerBytes = new byte[(int)headerLength];
        file.ReadExactly(headerBytes);
        JsonObject header;
        try
        {
            // A name given twice would make the header mean two things; refuse it rather than pick one.
            header = JsonNode.Parse(headerBytes, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false })?.AsObject() ?? throw new InvalidDataException("The safetensors header is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The safetensors header is not JSON: {e.Message}", e);
        }

        var dataStart = 8 + (long)headerLength;
        var dataLength = length - dataStart;
        var metadata = new Dictionary<string, string>();
        var tensors = new List<TensorEntry>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                foreach (var (key, value) in node?.AsObject() ?? [])
                {
                    metadata[key] = value?.GetValue<string>() ?? "";
                }

                continue;
            }

            var entry = node?.AsObject() ?? throw new InvalidDataException($"Tensor '{name}' has no description.");
            var dtype = entry["dtype"]?.GetValue<string>();
            if (dtype != "F32")
            {
                throw new InvalidDataException($"Tensor '{name}' is {dtype}; only F32 is supported.");
            }

            var shape = entry["shape"]?.AsArray().Select(d => Integer(d, name, "shape")).ToArray() ?? throw new InvalidDataException($"Tensor '{name}' has no shape.");
            var offsets = entry["data_offsets"]?.AsArray().Select(d => Integer(d, name, "data_offsets")).ToArray();
            if (offsets is not { Length: 2 } || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > dataLength)
            {
                throw new InvalidDataException($"Tensor '{name}' has data offsets outside the file.");
            }

            if (shape.Any(d => d < 0))
            {
                throw new InvalidDataException($"Tensor '{name}' has a negative dimension.");
            }

            var elements = shape.Aggregate(1L, (a, b) => checked(a * b));
            if (elements * sizeof(float) != offsets[1] - offsets[0])
            {
                throw new InvalidDataException($"Tensor '{name}' is shaped [{string.Join(", ", shape)}] ({elements} floats) but holds {offsets[1] - offsets[0]} bytes.");
            }

            tensors.Add(new TensorEntry(name, shape, offsets[0], offsets[1]));
        }

        return new SafetensorsHeader([.. tensors.OrderBy(t => t.Start)], metadata, dataStart);
    }

    /// <summary>One tensor's values, read from the file whose header <paramref name="header"/> is.</summary>
    public static float[] ReadTensor(Stream file, SafetensorsHeader header, TensorEntry tensor)
    {
        var values = new float[(tensor.End - tensor.Start) / sizeof(float)];
        ReadFloats(file, header.DataStart + tensor.Start, values);
        return values;
    }

    /// <summary>Fills <paramref name="values"/> from the file's bytes at <paramref name="position"/> (little-endian F32).</summary>
    public static void ReadFloats(Stream file, long position, Span<float> values)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("safetensors is little-endian; this host is not.");
        }

        file.Position = position;
        file.ReadExactly(MemoryMarshal.AsBytes(values));
    }

    private static long Integer(JsonNode? node, string tensor, string field) =>
        node is JsonValue value && value.TryGetValue<long>(out var result)
            ? result
            : throw new InvalidDataException($"Tensor '{tensor}': {field} must list whole numbers.");
}
