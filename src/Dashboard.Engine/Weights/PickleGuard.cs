using System.Buffers.Binary;
using System.Text;

namespace Dashboard.Engine.Weights;

/// <summary>A pickle that names something other than the tensor-rebuild and OrderedDict globals, or is not a pickle.</summary>
public sealed class UnsafePickleException(string message) : IOException(message);

/// <summary>
/// Walks the opcodes of a <c>torch.save</c> pickle (<c>data.pkl</c>) without running any of it, and refuses every global
/// but the few a state_dict needs.
/// </summary>
/// <remarks>
/// Why this runs before TorchSharp.PyBridge: PyBridge (1.4.x) registers constructors only for
/// <c>torch._utils._rebuild_tensor(_v2)</c>, <c>_rebuild_parameter</c> and <c>collections.OrderedDict</c>, and the
/// Razorvine unpickler under it builds an inert ClassDict for any other name, so it executes no Python. But Razorvine
/// also has built-in constructors of its own (bytearray, set, array, datetime, decimal, ...), some of which allocate
/// what the pickle asks for, and what it tolerates may change between versions. The allow-list here is ours: a pickle
/// naming anything else (a <c>__reduce__</c> calling <c>os.system</c>, for one) is refused before a byte of it is
/// unpickled. Opcodes that reach globals without naming them (INST/OBJ, the extension registry) are refused too, and
/// STACK_GLOBAL is accepted only when its two names are string literals just before it.
/// </remarks>
public static class PickleGuard
{
    /// <summary>The (module, name) pairs a state_dict's pickle may name.</summary>
    private static readonly HashSet<(string Module, string Name)> Allowed =
    [
        ("collections", "OrderedDict"),
        ("torch._utils", "_rebuild_tensor"),
        ("torch._utils", "_rebuild_tensor_v2"),

        // Storage types, named inside each tensor's persistent id; the ones PyBridge can map to a dtype.
        ("torch", "FloatStorage"), ("torch", "DoubleStorage"), ("torch", "HalfStorage"), ("torch", "BFloat16Storage"),
        ("torch", "LongStorage"), ("torch", "IntStorage"), ("torch", "ShortStorage"), ("torch", "CharStorage"),
        ("torch", "ByteStorage"), ("torch", "BoolStorage"),
    ];

    /// <summary>Throws <see cref="UnsafePickleException"/> unless every global the pickle names is allowed.</summary>
    public static void Check(ReadOnlySpan<byte> pickle)
    {
        var position = 0;
        string? last = null;
        string? beforeLast = null;
        var memo = new Dictionary<long, string?>();
        while (true)
        {
            if (position >= pickle.Length)
            {
                throw new UnsafePickleException("The pickle ends without a STOP opcode.");
            }

            var opcode = pickle[position++];
            string? pushed = null;
            switch (opcode)
            {
                case (byte)'.': // STOP
                    return;
                case (byte)'c': // GLOBAL "module\nname\n"
                    var module = Line(pickle, ref position);
                    Require(module, Line(pickle, ref position));
                    break;
                case 0x93: // STACK_GLOBAL: module and name are the two strings pushed just before
                    if (beforeLast is null || last is null)
                    {
                        throw new UnsafePickleException("The pickle names a global through values it computes; only literal names are accepted.");
                    }

                    Require(beforeLast, last);
                    break;
                case (byte)'i' or (byte)'o' or 0x82 or 0x83 or 0x84 or 0x92:
                    throw new UnsafePickleException($"The pickle uses opcode 0x{opcode:x2} (instance or extension construction), which a state_dict never needs.");

                // Strings: tracked, so that STACK_GLOBAL can be checked.
                case 0x8c: // SHORT_BINUNICODE
                    pushed = Text(pickle, ref position, Skip(pickle, ref position, 1));
                    break;
                case (byte)'X': // BINUNICODE
                    pushed = Text(pickle, ref position, Skip(pickle, ref position, 4));
                    break;
                case 0x8d: // BINUNICODE8
                    pushed = Text(pickle, ref position, Skip(pickle, ref position, 8));
                    break;
                case (byte)'V' or (byte)'S': // UNICODE, STRING (text up to the newline)
                    pushed = Line(pickle, ref position);
                    break;

                // Memo stores leave the stack as it is; memo reads push what was stored, so a repeated name read back
                // from the memo (as Python's pickler writes it) is still known.
                case 0x94: // MEMOIZE
                    memo[memo.Count] = last;
                    pushed = last;
                    last = beforeLast;
                    break;
                case (byte)'q' or (byte)'r' or (byte)'p': // BINPUT, LONG_BINPUT, PUT
                    memo[MemoIndex(opcode, pickle, ref position)] = last;
                    pushed = last;
                    last = beforeLast;
                    break;
                case (byte)'h' or (byte)'j' or (byte)'g': // BINGET, LONG_BINGET, GET
                    pushed = memo.GetValueOrDefault(MemoIndex(opcode, pickle, ref position));
                    break;

                default:
                    SkipArgument(opcode, pickle, ref position);
                    break;
            }

            beforeLast = last;
            last = pushed;
        }
    }

    private static void Require(string module, string name)
    {
        if (!Allowed.Contains((module, name)))
        {
            throw new UnsafePickleException($"The pickle names the global '{module}.{name}'; only tensors in an OrderedDict are accepted (save model.state_dict()).");
        }
    }

    /// <summary>Moves past the argument bytes of every other opcode of protocols 0 to 5; an unknown opcode is refused.</summary>
    private static void SkipArgument(byte opcode, ReadOnlySpan<byte> pickle, ref int position)
    {
        switch (opcode)
        {
            // No argument.
            case (byte)'(' or (byte)'0' or (byte)'1' or (byte)'2' or (byte)'N' or (byte)'Q' or (byte)'R' or (byte)'a' or (byte)'b'
                or (byte)'d' or (byte)'}' or (byte)'e' or (byte)'l' or (byte)']' or (byte)'s' or (byte)'t' or (byte)')' or (byte)'u'
                or 0x81 or 0x85 or 0x86 or 0x87 or 0x88 or 0x89 or 0x8f or 0x90 or 0x91 or 0x97 or 0x98:
                return;

            // Fixed-size arguments.
            case (byte)'K' or 0x80:
                position += 1;
                break;
            case (byte)'M':
                position += 2;
                break;
            case (byte)'J':
                position += 4;
                break;
            case (byte)'G' or 0x95:
                position += 8;
                break;

            // Newline-terminated arguments.
            case (byte)'F' or (byte)'I' or (byte)'L' or (byte)'P':
                Line(pickle, ref position);
                break;

            // Length-prefixed bytes.
            case (byte)'U' or (byte)'C' or 0x8a:
                position += Skip(pickle, ref position, 1);
                break;
            case (byte)'T' or (byte)'B' or 0x8b:
                position += Skip(pickle, ref position, 4);
                break;
            case 0x8e or 0x96:
                position += Skip(pickle, ref position, 8);
                break;
            default:
                throw new UnsafePickleException($"The pickle has an unknown opcode 0x{opcode:x2} at byte {position - 1}.");
        }

        if (position > pickle.Length)
        {
            throw new UnsafePickleException("The pickle is truncated.");
        }
    }

    /// <summary>Reads a little-endian length of <paramref name="size"/> bytes and returns it, checked against what is left.</summary>
    private static int Skip(ReadOnlySpan<byte> pickle, ref int position, int size)
    {
        if (position + size > pickle.Length)
        {
            throw new UnsafePickleException("The pickle is truncated.");
        }

        var slice = pickle.Slice(position, size);
        var length = size switch
        {
            1 => slice[0],
            4 => BinaryPrimitives.ReadUInt32LittleEndian(slice),
            _ => BinaryPrimitives.ReadUInt64LittleEndian(slice),
        };
        position += size;
        if (length > (ulong)(pickle.Length - position))
        {
            throw new UnsafePickleException("The pickle is truncated.");
        }

        return (int)length;
    }

    private static long MemoIndex(byte opcode, ReadOnlySpan<byte> pickle, ref int position)
    {
        if (opcode is (byte)'p' or (byte)'g')
        {
            return long.TryParse(Line(pickle, ref position), out var index) ? index : -1;
        }

        var size = opcode is (byte)'q' or (byte)'h' ? 1 : 4;
        if (position + size > pickle.Length)
        {
            throw new UnsafePickleException("The pickle is truncated.");
        }

        var slice = pickle.Slice(position, size);
        position += size;
        return size == 1 ? slice[0] : BinaryPrimitives.ReadUInt32LittleEndian(slice);
    }

    private static string Text(ReadOnlySpan<byte> pickle, ref int position, int length)
    {
        var text = Encoding.UTF8.GetString(pickle.Slice(position, length));
        position += length;
        return text;
    }

    private static string Line(ReadOnlySpan<byte> pickle, ref int position)
    {
        var end = pickle[position..].IndexOf((byte)'\n');
        if (end < 0)
        {
            throw new UnsafePickleException("The pickle is truncated.");
        }

        var text = Encoding.UTF8.GetString(pickle.Slice(position, end));
        position += end + 1;
        return text;
    }
}
