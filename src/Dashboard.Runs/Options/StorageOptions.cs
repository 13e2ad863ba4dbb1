using System.ComponentModel.DataAnnotations;

namespace Dashboard.Runs.Options;

/// <summary>Where the dashboard keeps its state. A relative data folder is taken from the content root.</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>The <see cref="Provider"/> that keeps everything in one SQLite file under <see cref="DataDirectory"/>.</summary>
    public const string Sqlite = "sqlite";

    /// <summary>The <see cref="Provider"/> that keeps the database on a PostgreSQL server (<see cref="PostgresConnectionString"/>).</summary>
    public const string Postgres = "postgres";

    /// <summary><see cref="Sqlite"/> (the default) or <see cref="Postgres"/>, in any case; checked on start.</summary>
    public string Provider { get; set; } = Sqlite;

    /// <summary>
    /// <c>ConnectionStrings:Postgres</c>, copied here when the options are built so the validator sees it beside
    /// <see cref="Provider"/>; only read when the provider is <see cref="Postgres"/>.
    /// </summary>
    public string? PostgresConnectionString { get; set; }

    public bool UsesPostgres => string.Equals(Provider?.Trim(), Postgres, StringComparison.OrdinalIgnoreCase);

    public string DataDirectory { get; set; } = "data/runtime";

    /// <summary>SQLite file (with the SQLite provider), relative to <see cref="DataDirectory"/> unless absolute.</summary>
    public string DatabaseFile { get; set; } = "dashboard.db";

    /// <summary>Checkpoint folder, relative to <see cref="DataDirectory"/> unless absolute.</summary>
    public string CheckpointDirectory { get; set; } = "checkpoints";

    /// <summary>
    /// Most bytes the checkpoint folder may hold; a checkpoint that would not fit fails like one on a full disk (the run
    /// stops with a message and resumes once space is freed). Null or absent: only the volume's free space limits it.
    /// </summary>
    [Range(1, long.MaxValue)]
    public long? QuotaBytes { get; set; }

    /// <summary>Largest CSV table <c>POST /api/datasets</c> accepts; bigger uploads are refused while they arrive.</summary>
    [Range(1024, 10L * 1024 * 1024 * 1024)]
    public long MaxDatasetBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>Most data rows an uploaded table may have.</summary>
    [Range(10, 10_000_000)]
    public int MaxDatasetRows { get; set; } = 1_000_000;

    /// <summary>Most columns an uploaded table may have.</summary>
    [Range(2, 10_000)]
    public int MaxDatasetColumns { get; set; } = 1_000;

    /// <summary>Largest weights file <c>POST /api/weights</c> accepts (and what a PyTorch zip may unpack to).</summary>
    [Range(1024, 20L * 1024 * 1024 * 1024)]
    public long MaxWeightsBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>
    /// With several processes on one data folder (the job engine on PostgreSQL): how old what a killed process left must
    /// be before another process clears it (a folder a deletion renamed away: put back while the run's rows are still
    /// there, removed otherwise; a deleted checkpoint's folder last written that long ago; an upload file not written for
    /// that long); also how often each process looks. Far longer than a deletion takes from its rename to its commit.
    /// </summary>
    [Range(1, 86_400)]
    public int LeftoverSeconds { get; set; } = 600;

    public string DataDirectoryPath => Path.GetFullPath(DataDirectory);

    /// <summary>Uploaded weights: <c>&lt;sha256&gt;.safetensors|.pt</c> and <c>&lt;sha256&gt;.json</c>, their description.</summary>
    public string WeightsPath => Path.Combine(DataDirectoryPath, "weights");

    /// <summary>Uploaded tables: <c>&lt;sha256&gt;.csv</c> content files and one <c>&lt;name&gt;.json</c> description per dataset.</summary>
    public string DatasetPath => Path.Combine(DataDirectoryPath, "datasets");

    public string DatabasePath => Path.Combine(DataDirectoryPath, DatabaseFile);

    public string CheckpointPath => Path.Combine(DataDirectoryPath, CheckpointDirectory);

    /// <summary>
    /// Where uploads wait while they are checked: beside the database rather than in the system's temp folder, which is
    /// often a small tmpfs, and outside the checkpoint folder, so they never count against <see cref="QuotaBytes"/>.
    /// </summary>
    public string UploadSpoolPath => Path.Combine(DataDirectoryPath, "tmp", "uploads");
}
