using System.Buffers.Binary;
using System.Text;

namespace Dashboard.IntegrationTests;

/// <summary>
/// A reader of TensorBoard event files written from the format's description, sharing nothing with the server's writer:
/// its own table-driven CRC32C and its own protobuf decoding. Every record's framing and both CRCs are checked; any flaw
/// throws <see cref="InvalidDataException"/>.
/// </summary>
internal static class TfEventReader
{
    public sealed record Scalar(string Tag, float Value);

    public sealed record Event(double WallTime, long Step, string? FileVersion, IReadOnlyList<Scalar> Scalars);

    private static readonly uint[] Table = BuildTable();

    public static List<Event> Read(byte[] file)
    {
        var events = new List<Event>();
        var position = 0;
        while (position < file.Length)
        {
            Require(file.Length - position >= 12, $"a record header cut short at byte {position}");
            var header = file.AsSpan(position, 8);
            var length = BinaryPrimitives.ReadUInt64LittleEndian(header);
            Require(MaskedCrc(header) == BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(position + 8)), $"the length CRC of the record at byte {position}");
            Require(length <= (ulong)(file.Length - position - 16), $"a record at byte {position} longer than the file");
            var data = file.AsSpan(position + 12, (int)length);
            Require(MaskedCrc(data) == BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(position + 12 + (int)length)), $"the data CRC of the record at byte {position}");
            events.Add(DecodeEvent(data));
            position += 16 + (int)length;
        }

        return events;
    }

    /// <summary>Event: wall_time = 1 (double), step = 2 (int64), file_version = 3 (string), summary = 5.</summary>
    private static Event DecodeEvent(ReadOnlySpan<byte> data)
    {
        double wallTime = 0;
        long step = 0;
        string? version = null;
        var scalars = new List<Scalar>();
        var reader = new Fields(data);
        while (reader.Next(out var field, out var wire))
        {
            switch (field, wire)
            {
                case (1, 1): wallTime = BitConverter.Int64BitsToDouble((long)reader.Fixed64()); break;
                case (2, 0): step = (long)reader.Varint(); break;
                case (3, 2): version = Encoding.UTF8.GetString(reader.Bytes()); break;
                case (5, 2): DecodeSummary(reader.Bytes(), scalars); break;
                default: reader.Skip(wire); break;
            }
        }

        return new Event(wallTime, step, version, scalars);
    }

    /// <summary>Summary: repeated value = 1; Value: tag = 1 (string), simple_value = 2 (float).</summary>
    private static void DecodeSummary(ReadOnlySpan<byte> data, List<Scalar> scalars)
    {
        var summary = new Fields(data);
        while (summary.Next(out var field, out var wire))
        {
            if ((field, wire) != (1, 2))
            {
                summary.Skip(wire);
                continue;
            }

            var value = new Fields(summary.Bytes());
            string? tag = null;
            float? simple = null;
            while (value.Next(out var f, out var w))
            {
                switch (f, w)
                {
                    case (1, 2): tag = Encoding.UTF8.GetString(value.Bytes()); break;
                    case (2, 5): simple = BitConverter.Int32BitsToSingle((int)value.Fixed32()); break;
                    default: value.Skip(w); break;
                }
            }

            Require(tag is not null && simple is not null, "a summary value without its tag or simple_value");
            scalars.Add(new Scalar(tag!, simple!.Value));
        }
    }

    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc ^ 0xFFFFFFFFu;
    }

    private static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        var crc = Crc32C(data);
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    }

    /// <summary>CRC-32C (Castagnoli), reflected polynomial 0x82F63B78.</summary>
    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (var n = 0u; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }

    private static void Require(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidDataException($"Not a valid event file: {what}.");
        }
    }

    /// <summary>Protobuf fields of one message, in order.</summary>
    private ref struct Fields(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public bool Next(out int field, out int wire)
        {
            (field, wire) = (0, 0);
            if (_position >= _data.Length)
            {
                return false;
            }

            var key = Varint();
            (field, wire) = ((int)(key >> 3), (int)(key & 7));
            return true;
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                Require(_position < _data.Length, "a varint cut short");
                var b = _data[_position++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw new InvalidDataException("Not a valid event file: a varint longer than ten bytes.");
        }

        public ulong Fixed64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

        public uint Fixed32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

        public ReadOnlySpan<byte> Bytes() => Take(checked((int)Varint()));

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: Take(8); break;
                case 2: Bytes(); break;
                case 5: Take(4); break;
                default: throw new InvalidDataException($"Not a valid event file: wire type {wire}.");
            }
        }

        private ReadOnlySpan<byte> Take(int count)
        {
            Require(count >= 0 && _data.Length - _position >= count, "a field longer than its message");
            var slice = _data.Slice(_position, count);
            _position += count;
            return slice;
        }
    }
}
