namespace Dashboard.Data.Entities;

public sealed class Checkpoint
{
    public int Id { get; set; }

    public int RunId { get; set; }

    /// <summary>Completed epochs when it was taken.</summary>
    public int Epoch { get; set; }

    public long Step { get; set; }

    /// <summary>Metrics at save time as a JSON object of name → value.</summary>
    public required string MetricsJson { get; set; }

    /// <summary>Folder relative to the checkpoint store's root; never a path a client chose.</summary>
    public required string Path { get; set; }

    public long SizeBytes { get; set; }

    /// <summary>SHA-256 of the manifest, which lists the hashes of the other files.</summary>
    public string Sha256 { get; set; } = "";

    public required string Kind { get; set; }

    public bool Pinned { get; set; }

    public required string Status { get; set; }

    public DateTime CreatedAt { get; set; }
}
