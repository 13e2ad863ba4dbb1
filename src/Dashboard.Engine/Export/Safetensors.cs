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
        if (file.Length < 8)
        {
            throw new InvalidDataException("Not a safetensors file: shorter than its 8-byte header length.");
        }

        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (headerLength > (ulong)Math.Min(MaxHeaderBytes, file.Length - 8))
        {
            throw new InvalidDataException($"The safetensors header claims {headerLength} bytes; the file has {file.Length - 8} after the length.");
        }

        JsonObject header;
        try
        {
            // A name given twice would make the header mean two things; refuse it rather than pick one.
            header = JsonNode.Parse(file.Slice(8, (int)headerLength), documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false })?.AsObject() ?? throw new InvalidDataException("The safetensors header is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The safetensors header is not JSON: {e.Message}", e);
        }

        var data = file[(8 + (int)headerLength)..];
        var metadata = new Dictionary<string, string>();
        var tensors = new List<(long Start, NamedTensor Tensor)>();
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
            if (offsets is not { Length: 2 } || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > data.Length)
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

            var values = MemoryMarshal.Cast<byte, float>(data[(int)offsets[0]..(int)offsets[1]]).ToArray();
            tensors.Add((offsets[0], new NamedTensor(name, shape, values)));
        }

        return ([.. tensors.OrderBy(t => t.Start).Select(t => t.Tensor)], metadata);
    }

    private static long Integer(JsonNode? node, string tensor, string field) =>
        node is JsonValue value && value.TryGetValue<long>(out var result)
            ? result
            : throw new InvalidDataException($"Tensor '{tensor}': {field} must list whole numbers.");
}
