using System.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Dashboard.Engine.Training.Optimizers;

/// <summary>
/// SGD, Adam and AdamW with PyTorch's update rules, written here instead of taken from TorchSharp. TorchSharp 0.107's
/// optimizers pass temporary <see cref="Scalar"/>s to native calls without keeping them alive, and a Scalar has a
/// finalizer but no dispose scope, so a garbage collection started by any other thread during <c>step()</c> can free one
/// while libtorch reads it (seen as a <c>c10::Scalar</c> toDouble check failure, mostly with two runs at once). Every
/// Scalar here is held by a <c>using</c> until the call that reads it has returned.
/// </summary>
public abstract class TrainingOptimizer : IDisposable
{
    private const string Magic = "DOPT1";

    private readonly Parameter[] _parameters;
    private readonly Tensor[][] _slots;
    private bool _disposed;

    protected TrainingOptimizer(string name, IEnumerable<Parameter> parameters, double learningRate, int slotsPerParameter)
    {
        Name = name;
        LearningRate = learningRate;
        _parameters = [.. parameters];

        // Allocated once up front and kept out of any caller's dispose scope: they live as long as the optimizer.
        _slots = [.. _parameters.Select(p => Enumerable.Range(0, slotsPerParameter).Select(_ => zeros_like(p).DetachFromDisposeScope()).ToArray())];
    }

    public string Name { get; }

    /// <summary>The length of what <see cref="SaveState()"/> writes; fixed for the optimizer's life.</summary>
    public int StateSize => checked((int)(StringSize(Magic) + StringSize(Name) + sizeof(long) + (2 * sizeof(int))
        + _slots.SelectMany(s => s).Sum(slot => sizeof(int) + (sizeof(long) * slot.shape.Length) + (slot.numel() * slot.element_size()))));

    public double LearningRate { get; set; }

    /// <summary>Completed optimisation steps (Adam's bias correction depends on it).</summary>
    public long StepCount { get; private set; }

    public void ZeroGrad()
    {
        foreach (var parameter in _parameters)
        {
            using var grad = parameter.grad;
            grad?.zero_();
        }
    }

    public void Step()
    {
        StepCount++;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var withGradients = new List<ParameterState>(_parameters.Length);
        for (var i = 0; i < _parameters.Length; i++)
        {
            if (_parameters[i].grad is { } grad)
            {
                withGradients.Add(new ParameterState(_parameters[i], grad, _slots[i]));
            }
        }

        Update(withGradients);
    }

    /// <summary>
    /// Applies one step to every parameter that has a gradient. Runs under <c>no_grad</c> inside a dispose scope; any
    /// Scalar it passes to torch must be held in a <c>using</c> (never a temporary from an implicit conversion, nor an
    /// overload with a Scalar default such as <c>add_(tensor)</c>).
    /// </summary>
    protected abstract void Update(IReadOnlyList<ParameterState> parameters);

    /// <summary>
    /// The optimizer's whole state (step count and every slot tensor) in a small self-describing format, in an array of
    /// exactly the right size: a growing stream would copy and re-zero a state of 100 MB several times over on the
    /// training thread.
    /// </summary>
    public byte[] SaveState() => SaveState(length => GC.AllocateUninitializedArray<byte>(length));

    /// <summary>
    /// The same bytes as <see cref="SaveState()"/>, in an array <paramref name="allocate"/> gives for the exact size (a
    /// reused one: the trainer's snapshot buffers); every byte of it is overwritten.
    /// </summary>
    public byte[] SaveState(Func<int, byte[]> allocate)
    {
        var buffer = allocate(StateSize);
        using var stream = new MemoryStream(buffer);
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            SaveState(writer);
        }

        return stream.Position == buffer.Length
            ? buffer
            : throw new InvalidOperationException($"The optimizer state took {stream.Position} bytes, {buffer.Length} were computed.");
    }

    private void SaveState(BinaryWriter writer)
    {
        writer.Write(Magic);
        writer.Write(Name);
        writer.Write(StepCount);
        writer.Write(_slots.Length);
        writer.Write(_slots.Length == 0 ? 0 : _slots[0].Length);
        foreach (var slot in _slots.SelectMany(s => s))
        {
            writer.Write(slot.shape.Length);
            foreach (var dimension in slot.shape)
            {
                writer.Write(dimension);
            }

            if (slot.device_type == DeviceType.CPU)
            {
                WriteBytes(writer, slot);
            }
            else
            {
                using var host = slot.cpu();
                WriteBytes(writer, host);
            }
        }
    }

    /// <summary>Restores what <see cref="SaveState()"/> wrote; refuses state written for another optimizer or model.</summary>
    public void LoadState(BinaryReader reader)
    {
        string magic;
        try
        {
            magic = reader.ReadString();
        }
        catch (Exception e) when (e is EndOfStreamException or IOException)
        {
            throw new InvalidDataException("The optimizer state is empty or truncated.", e);
        }

        if (magic != Magic)
        {
            throw new InvalidDataException("The optimizer state was not written by this version of the dashboard.");
        }

        var name = reader.ReadString();
        if (name != Name)
        {
            throw new InvalidDataException($"The optimizer state belongs to '{name}', not '{Name}'.");
        }

        var stepCount = reader.ReadInt64();
        var parameters = reader.ReadInt32();
        var slotsPerParameter = reader.ReadInt32();
        if (parameters != _slots.Length || (parameters > 0 && slotsPerParameter != _slots[0].Length))
        {
            throw new InvalidDataException($"The optimizer state holds {parameters} parameters, the model trains {_slots.Length}.");
        }

        using var noGrad = no_grad();
        foreach (var slot in _slots.SelectMany(s => s))
        {
            var rank = reader.ReadInt32();
            var shape = new long[rank];
            for (var d = 0; d < rank; d++)
            {
                shape[d] = reader.ReadInt64();
            }

            if (!shape.SequenceEqual(slot.shape))
            {
                throw new InvalidDataException($"The optimizer state has a tensor of shape [{string.Join(", ", shape)}] where the model has [{string.Join(", ", slot.shape)}].");
            }

            var bytes = reader.ReadBytes(checked((int)(slot.numel() * slot.element_size())));
            if (bytes.Length != slot.numel() * slot.element_size())
            {
                throw new InvalidDataException("The optimizer state is truncated.");
            }

            using var source = empty(shape, slot.dtype);
            source.bytes = bytes;
            slot.copy_(source);
        }

        StepCount = stepCount;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var slot in _slots.SelectMany(s => s))
        {
            slot.Dispose();
        }

        GC.SuppressFinalize(this);
    }

    private static void WriteBytes(BinaryWriter writer, Tensor host) => writer.Write(host.bytes);

    /// <summary>What <see cref="BinaryWriter.Write(string)"/> takes: a 7-bit encoded length, then UTF-8.</summary>
    private static long StringSize(string value)
    {
        var bytes = Encoding.UTF8.GetByteCount(value);
        var prefix = 1;
        for (var rest = bytes >> 7; rest > 0; rest >>= 7)
        {
            prefix++;
        }

        return prefix + bytes;
    }

    /// <summary>A parameter, its gradient and its slot tensors (momentum or moment estimates).</summary>
    protected readonly record struct ParameterState(Parameter Parameter, Tensor Grad, Tensor[] Slots);
}
