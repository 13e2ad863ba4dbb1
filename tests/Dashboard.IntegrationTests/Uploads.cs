using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Dashboard.IntegrationTests;

/// <summary>Upload bodies and raw HTTP for the import tests: large ones made as they are sent, and ones sent in steps.</summary>
internal static class Uploads
{
    /// <summary>
    /// Opens a raw connection and sends the head of a <c>POST /api/imports</c> with <paramref name="bodyHeader"/>
    /// (its length or transfer encoding); the body, if any, is the caller's to send.
    /// </summary>
    public static async Task<TcpClient> StartImportAsync(Uri server, string bodyHeader)
    {
        var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync(server.Host, server.Port);
            var head = $"POST /api/imports HTTP/1.1\r\nHost: {server.Authority}\r\nContent-Type: application/zip\r\n{bodyHeader}\r\n\r\n";
            await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes(head));
            return tcp;
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads an HTTP response from a raw connection until its (problem) JSON body has closed, or the server closed the
    /// connection; what arrived before a reset is kept, since a server may reset a connection whose body it stopped reading.
    /// </summary>
    public static async Task<string> ReadResponseAsync(NetworkStream stream)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var text = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            while (!text.ToString().Contains("}", StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer, timeout.Token);
                if (read == 0)
                {
                    break;
                }

                text.Append(Encoding.UTF8.GetString(buffer, 0, read));
            }
        }
        catch (IOException) when (text.Length > 0)
        {
        }

        return text.ToString();
    }

    /// <summary>A body of zeros produced as it is sent, so a 256 MiB upload costs the test no memory.</summary>
    public sealed class ZeroStream(long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(buffer.Length, length - _position);
            buffer[..n].Clear();
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>
    /// A body with its full Content-Length of which only the first <paramref name="sentFirst"/> bytes go out until
    /// <paramref name="rest"/> completes: lets a test look at the server while an upload is half way.
    /// </summary>
    public sealed class PausedContent(byte[] body, int sentFirst, Task rest) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(body.AsMemory(0, sentFirst));
            await stream.FlushAsync();
            await rest;
            await stream.WriteAsync(body.AsMemory(sentFirst));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }
}
