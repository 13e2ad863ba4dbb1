using Dashboard.Engine.Export;
using Dashboard.UnitTests.Support;

namespace Dashboard.UnitTests.Export;

public sealed class UploadSpoolTests : IDisposable
{
    private const long Limit = 1024 * 1024;

    private readonly TempDirectory _temp = new();
    private readonly UploadSpool _spool;

    public UploadSpoolTests() => _spool = new UploadSpool(_temp.Combine("tmp", "uploads"));

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task WriteAsync_UploadWithinTheLimit_GivesItsBytesFromAFileThatGoesOnDispose()
    {
        var upload = new byte[300_000];
        Random.Shared.NextBytes(upload);

        var file = await _spool.WriteAsync(new OneWayStream(new MemoryStream(upload)), Limit);
        byte[] read;
        await using (file)
        {
            Assert.Equal(0, file.Position);
            Assert.Equal(_spool.Folder, Path.GetDirectoryName(file.Name));
            Assert.Equal([file.Name], Directory.GetFiles(_spool.Folder));
            using var copy = new MemoryStream();
            await file.CopyToAsync(copy);
            read = copy.ToArray();
        }

        Assert.Equal(upload, read);
        Assert.Empty(Directory.GetFiles(_spool.Folder));
    }

    [Fact]
    public async Task WriteAsync_ExactlyTheLimit_IsTaken()
    {
        await using var file = await _spool.WriteAsync(new OneWayStream(new MemoryStream(new byte[Limit])), Limit);

        Assert.Equal(Limit, file.Length);
    }

    [Fact]
    public async Task WriteAsync_EndlessUpload_StopsReadingJustPastTheLimitAndLeavesNoFile()
    {
        // No length to check up front, as with a chunked body: only counting while reading can stop it.
        var endless = new EndlessStream();

        var refused = await Assert.ThrowsAsync<UploadTooLargeException>(() => _spool.WriteAsync(endless, Limit));

        Assert.Equal(Limit, refused.MaxBytes);
        Assert.InRange(endless.BytesRead, Limit + 1, Limit + (128 * 1024));
        Assert.Empty(Directory.GetFiles(_spool.Folder));
    }

    [Fact]
    public async Task WriteAsync_UploadBreaksOff_RethrowsItsErrorAndLeavesNoFile()
    {
        var broken = new BrokenStream(afterBytes: 200_000);

        var error = await Assert.ThrowsAsync<IOException>(() => _spool.WriteAsync(broken, Limit));

        Assert.Same(broken.Error, error);
        Assert.Empty(Directory.GetFiles(_spool.Folder));
    }

    [Fact]
    public async Task RemoveStale_FilesOfACrashAmongOthers_RemovesOnlyTheSpoolsOwnFilesAtItsTopLevel()
    {
        Directory.CreateDirectory(Path.Combine(_spool.Folder, "nested"));
        string[] stale = [Path.Combine(_spool.Folder, "upload-1a2b.part"), Path.Combine(_spool.Folder, "upload-.part")];
        string[] kept =
        [
            Path.Combine(_spool.Folder, "weights.bin"),
            Path.Combine(_spool.Folder, "upload-1a2b.part.keep"),
            Path.Combine(_spool.Folder, "my-upload-1.part"),
            Path.Combine(_spool.Folder, "nested", "upload-3c4d.part"),
        ];
        foreach (var file in stale.Concat(kept))
        {
            await File.WriteAllTextAsync(file, "x");
        }

        var removed = _spool.RemoveStale();

        Assert.Equal(stale.Order(StringComparer.Ordinal), removed.Order(StringComparer.Ordinal));
        Assert.All(stale, file => Assert.False(File.Exists(file), file));
        Assert.All(kept, file => Assert.True(File.Exists(file), file));
    }

    [Fact]
    public async Task RemoveStale_UnwrittenForGiven_RemovesOnlyOlderFilesAndOneBeingReadStaysReadable()
    {
        // Where other processes share the spool: one left by a killed process an hour ago, one arriving now, and one
        // another instance still reads although it was written an hour ago (a long import).
        var left = Path.Combine(_spool.Folder, "upload-0001.part");
        var arriving = Path.Combine(_spool.Folder, "upload-0002.part");
        Directory.CreateDirectory(_spool.Folder);
        await File.WriteAllTextAsync(left, "left");
        await File.WriteAllTextAsync(arriving, "arriving");
        File.SetLastWriteTimeUtc(left, DateTime.UtcNow.AddHours(-1));
        await using var reading = await _spool.WriteAsync(new MemoryStream(new byte[5000]), Limit);
        var readingName = Assert.Single(Directory.GetFiles(_spool.Folder, "upload-*").Except([left, arriving]));
        File.SetLastWriteTimeUtc(readingName, DateTime.UtcNow.AddHours(-1));

        var removed = _spool.RemoveStale(unwrittenFor: TimeSpan.FromMinutes(10));

        Assert.Equal(new[] { left, readingName }.Order(StringComparer.Ordinal), removed.Order(StringComparer.Ordinal));
        Assert.True(File.Exists(arriving));
        Assert.Equal(5000, await reading.ReadAsync(new byte[6000]));
    }

    [Fact]
    public void RemoveStale_FolderNeverMade_RemovesNothingAndDoesNotMakeIt()
    {
        Assert.Empty(_spool.RemoveStale());
        Assert.False(Directory.Exists(_spool.Folder));
    }

    /// <summary>Bytes that can only be read forwards, like a request body.</summary>
    private sealed class OneWayStream(Stream inner) : OneWayStreamBase
    {
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    }

    /// <summary>Ones without end, counting what was read.</summary>
    private sealed class EndlessStream : OneWayStreamBase
    {
        public long BytesRead { get; private set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            buffer.AsSpan(offset, count).Fill(1);
            BytesRead += count;
            return count;
        }
    }

    /// <summary>Gives <paramref name="afterBytes"/> bytes, then fails the way a dropped connection does.</summary>
    private sealed class BrokenStream(long afterBytes) : OneWayStreamBase
    {
        private long _left = afterBytes;

        public IOException Error { get; } = new("The client went away.");

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_left == 0)
            {
                throw Error;
            }

            var n = (int)Math.Min(count, _left);
            _left -= n;
            return n;
        }
    }

    private abstract class OneWayStreamBase : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
