using System.Collections;
using System.IO.Compression;
using Dashboard.Engine.Export;
using TorchSharp;
using PyTorchUnpickler = TorchSharp.PyBridge.PyTorchUnpickler;

namespace Dashboard.Engine.Weights;

/// <summary>The two kinds of weights file a run can start from.</summary>
public static class WeightsFormats
{
    public const string Safetensors = "safetensors";

    /// <summary>A state_dict written by PyTorch's <c>torch.save</c> (a zip holding <c>data.pkl</c> and the tensor bytes).</summary>
    public const string PyTorch = "pytorch";
}

/// <summary>The float32 tensors of a weights file, by name, in name order.</summary>
public sealed record WeightsContents(string Format, IReadOnlyList<NamedTensor> Tensors);

/// <summary>
/// Reads a weights file of either format into plain float32 arrays, refusing with <see cref="InvalidDataException"/> (a
/// message naming the tensor or the reason) anything that is not a flat map of names to float32 tensors.
/// </summary>
public static class WeightsReader
{
    /// <summary>Most bytes a <c>data.pkl</c> may unpack to; a state_dict's pickle holds names and shapes only.</summary>
    public const long MaxPickleBytes = 64L * 1024 * 1024;

    /// <summary>
    /// Reads <paramref name="file"/> (seekable). A PyTorch zip may unpack to at most <paramref name="maxUnpackedBytes"/>, so
    /// a small compressed upload cannot grow into gigabytes of tensors.
    /// </summary>
    public static WeightsContents Read(Stream file, long maxUnpackedBytes)
    {
        Span<byte> signature = stackalloc byte[4];
        file.Position = 0;
        if (file.ReadAtLeast(signature, 4, throwOnEndOfStream: false) == 4 && signature.SequenceEqual("PK\u0003\u0004"u8))
        {
            return new WeightsContents(WeightsFormats.PyTorch, ReadPyTorch(file, maxUnpackedBytes));
        }

        if (signature[0] == 0x80)
        {
            throw new InvalidDataException("This is a pickle in PyTorch's legacy format; re-save it with torch.save(model.state_dict(), path) from PyTorch 1.6 or later.");
        }

        var header = Safetensors.ReadHeader(file);
        return new WeightsContents(
            WeightsFormats.Safetensors,
            [.. header.Tensors.Select(t => new NamedTensor(t.Name, t.Shape, Safetensors.ReadTensor(file, header, t))).OrderBy(t => t.Name, StringComparer.Ordinal)]);
    }

    private static List<NamedTensor> ReadPyTorch(Stream file, long maxUnpackedBytes)
    {
        file.Position = 0;
        using (var archive = Open(file))
        {
            if (archive.Entries.Sum(e => e.Length) > maxUnpackedBytes)
            {
                throw new InvalidDataException($"The archive unpacks to more than {maxUnpackedBytes:N0} bytes.");
            }

            // The entry PyBridge will unpickle, chosen by its own rule, is the one checked.
            var pickle = archive.Entries.FirstOrDefault(e => e.Name.EndsWith("data.pkl", StringComparison.Ordinal))
                ?? throw new InvalidDataException("The archive has no data.pkl; it was not written by torch.save.");
            if (pickle.Length > MaxPickleBytes)
            {
                throw new InvalidDataException($"data.pkl is larger than {MaxPickleBytes:N0} bytes; a state_dict's pickle is far smaller.");
            }

            using var bytes = new MemoryStream((int)pickle.Length);
            using (var entry = pickle.Open())
            {
                entry.CopyTo(bytes);
            }

            try
            {
                PickleGuard.Check(bytes.GetBuffer().AsSpan(0, (int)bytes.Length));
            }
            catch (UnsafePickleException e)
            {
                throw new InvalidDataException(e.Message, e);
            }
        }

        file.Position = 0;
        using var scope = torch.NewDisposeScope();
        Hashtable dict;
        try
        {
            dict = PyTorchUnpickler.UnpickleStateDict(file, leaveOpen: true);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"The state_dict cannot be read: {e.Message}", e);
        }

        var tensors = new List<NamedTensor>(dict.Count);
        foreach (DictionaryEntry item in dict)
        {
            var name = item.Key as string ?? throw new InvalidDataException($"The state_dict has a key that is not a name: {item.Key}.");
            if (item.Value is not torch.Tensor tensor)
            {
                throw new InvalidDataException($"'{name}' is not a tensor; save model.state_dict() itself, not a dict around it.");
            }

            if (tensor.dtype != torch.ScalarType.Float32)
            {
                throw new InvalidDataException($"Tensor '{name}' is {tensor.dtype}; only float32 weights are accepted.");
            }

            tensors.Add(new NamedTensor(name, tensor.shape, tensor.contiguous().data<float>().ToArray()));
        }

        return [.. tensors.OrderBy(t => t.Name, StringComparer.Ordinal)];
    }

    private static ZipArchive Open(Stream file)
    {
        try
        {
            return new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"The file starts like a zip but is not one: {e.Message}", e);
        }
    }
}
