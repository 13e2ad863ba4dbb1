using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Dashboard.Engine.Export;

/// <summary>
/// Writes a TensorBoard event file (<c>*.tfevents</c>) to a stream: TFRecords (uint64 length, masked CRC32C of the
/// length, the bytes, masked CRC32C of the bytes), each an <c>Event</c> protobuf, the first naming the file version.
/// TorchSharp's <c>SummaryWriter</c> is not used: it reopens its file for every event (a run has millions of steps), needs
/// a folder on disk, stamps wall times in .NET ticks where TensorBoard reads Unix seconds, and takes steps as int. The
/// three messages needed here have five fields between them, so they are encoded by hand.
/// Records gather in a buffer; the caller hands them on with <see cref="FlushAsync"/> (a response stream takes no
/// synchronous writes) when <see cref="ShouldFlush"/> says so, and once at the end.
/// </summary>
public sealed class TfEventWriter(Stream output)
{
    public const string FileVersion = "brain.Event:2";

    private const int FlushBytes = 64 * 1024;

    private readonly ArrayBufferWriter<byte> _buffer = new(FlushBytes * 2);

    /// <summary>One event's bytes while they are encoded; reused, so an event allocates nothing.</summary>
    private readonly ArrayBufferWriter<byte> _event = new(256);

    public bool ShouldFlush => _buffer.WrittenCount >= FlushBytes;

    /// <summary>The event every reader expects first: the file format's version.</summary>
    public void WriteFileVersion(double wallTime)
    {
        _event.ResetWrittenCount();
        WriteDouble(_event, 1, wallTime);
        var version = Encoding.ASCII.GetBytes(FileVersion);
        WriteTag(_event, 3, WireLength);
        WriteVarint(_event, (ulong)version.Length);
        _event.Write(version);
        WriteRecord(_event.WrittenSpan);
    }

    /// <summary>One scalar: an Event with a Summary holding one Value (tag, simple_value). TensorBoard's scalars are float.</summary>
    /// <param name="wallTime">Seconds since the Unix epoch.</param>
    public void WriteScalar(string tag, long step, float value, double wallTime)
    {
        var tagBytes = Encoding.UTF8.GetBytes(tag);
        var valueLength = 1 + VarintLength((ulong)tagBytes.Length) + tagBytes.Length + 1 + sizeof(float);
        var summaryLength = 1 + VarintLength((ulong)valueLength) + valueLength;

        _event.ResetWrittenCount();
        WriteDouble(_event, 1, wallTime);
        WriteTag(_event, 2, WireVarint);
        WriteVarint(_event, (ulong)step);
        WriteTag(_event, 5, WireLength);
        WriteVarint(_event, (ulong)summaryLength);
        WriteTag(_event, 1, WireLength); // Summary.value
        WriteVarint(_event, (ulong)valueLength);
        WriteTag(_event, 1, WireLength); // Value.tag
        WriteVarint(_event, (ulong)tagBytes.Length);
        _event.Write(tagBytes);
        WriteTag(_event, 2, WireFixed32); // Value.simple_value
        BinaryPrimitives.WriteSingleLittleEndian(_event.GetSpan(sizeof(float)), value);
        _event.Advance(sizeof(float));
        WriteRecord(_event.WrittenSpan);
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        await output.WriteAsync(_buffer.WrittenMemory, cancellationToken);
        _buffer.ResetWrittenCount();
    }

    /// <summary>CRC32C as TFRecord uses it, rotated and offset ("masked") so a CRC of data holding CRCs stays strong.</summary>
    public static uint MaskedCrc32C(ReadOnlySpan<byte> data)
    {
        var crc = ~0u;
        while (data.Length >= sizeof(ulong))
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[sizeof(ulong)..];
        }

        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        crc = ~crc;
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    }

    private const int WireVarint = 0;
    private const int WireFixed64 = 1;
    private const int WireLength = 2;
    private const int WireFixed32 = 5;

    private void WriteRecord(ReadOnlySpan<byte> data)
    {
        var header = _buffer.GetSpan(12);
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], MaskedCrc32C(header[..8]));
        _buffer.Advance(12);
        _buffer.Write(data);
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.GetSpan(4), MaskedCrc32C(data));
        _buffer.Advance(4);
    }

    private static void WriteDouble(ArrayBufferWriter<byte> writer, int field, double value)
    {
        WriteTag(writer, field, WireFixed64);
        BinaryPrimitives.WriteDoubleLittleEndian(writer.GetSpan(sizeof(double)), value);
        writer.Advance(sizeof(double));
    }

    private static void WriteTag(ArrayBufferWriter<byte> writer, int field, int wireType) => WriteVarint(writer, (ulong)((field << 3) | wireType));

    private static void WriteVarint(ArrayBufferWriter<byte> writer, ulong value)
    {
        var span = writer.GetSpan(10);
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        writer.Advance(i);
    }

    private static int VarintLength(ulong value) => Math.Max(1, (70 - BitOperations.LeadingZeroCount(value)) / 7);
}
