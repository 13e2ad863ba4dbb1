using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Dashboard.Data.Postgres.Migrations
{
    /// <inheritdoc />
    public partial class InitialPostgres : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "Checkpoints",
                columns: table => new
                {
                    Id = table.Column<int>(type: "integer", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    RunId = table.Column<int>(type: "integer", nullable: false),
                    Epoch = table.Column<int>(type: "integer", nullable: false),
                    Step = table.Column<long>(type: "bigint", nullable: false),
                    MetricsJson = table.Column<string>(type: "text", nullable: false),
                    Path = table.Column<string>(type: "character varying(400)", maxLength: 400, nullable: false),
                    SizeBytes = table.Column<long>(type: "bigint", nullable: false),
                    Sha256 = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Kind = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    Pinned = table.Column<bool>(type: "boolean", nullable: false),
                    Status = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Checkpoints", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "Runs",
                columns: table => new
                {
                    Id = table.Column<int>(type: "integer", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    Status = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    Dataset = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    Model = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    Epochs = table.Column<int>(type: "integer", nullable: false),
                    CurrentEpoch = table.Column<int>(type: "integer", nullable: false),
                    Device = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    ConfigJson = table.Column<string>(type: "text", nullable: false),
                    ModelSpecJson = table.Column<string>(type: "text", nullable: true),
                    ParentRunId = table.Column<int>(type: "integer", nullable: true),
                    ParentCheckpointId = table.Column<int>(type: "integer", nullable: true),
                    StartCheckpointId = table.Column<int>(type: "integer", nullable: true),
                    BestValLoss = table.Column<double>(type: "double precision", nullable: true),
                    BestValLossEpoch = table.Column<int>(type: "integer", nullable: true),
                    Error = table.Column<string>(type: "text", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    StartedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    FinishedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    ResumedFromCheckpointId = table.Column<int>(type: "integer", nullable: true),
                    StartStep = table.Column<long>(type: "bigint", nullable: false),
                    TagsJson = table.Column<string>(type: "text", nullable: false, defaultValue: "[]"),
                    Notes = table.Column<string>(type: "text", nullable: false, defaultValue: ""),
                    Archived = table.Column<bool>(type: "boolean", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Runs", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Runs_Checkpoints_ParentCheckpointId",
                        column: x => x.ParentCheckpointId,
                        principalTable: "Checkpoints",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_Runs_Checkpoints_StartCheckpointId",
                        column: x => x.StartCheckpointId,
                        principalTable: "Checkpoints",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_Runs_Runs_ParentRunId",
                        column: x => x.ParentRunId,
                        principalTable: "Runs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "EpochMetrics",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    RunId = table.Column<int>(type: "integer", nullable: false),
                    Epoch = table.Column<int>(type: "integer", nullable: false),
                    Step = table.Column<long>(type: "bigint", nullable: false),
                    Loss = table.Column<double>(type: "double precision", nullable: false),
                    ValLoss = table.Column<double>(type: "double precision", nullable: false),
                    Accuracy = table.Column<double>(type: "double precision", nullable: true),
                    ValAccuracy = table.Column<double>(type: "double precision", nullable: true),
                    Mae = table.Column<double>(type: "double precision", nullable: true),
                    ValMae = table.Column<double>(type: "double precision", nullable: true),
                    LearningRate = table.Column<double>(type: "double precision", nullable: false),
                    DurationMs = table.Column<double>(type: "double precision", nullable: false),
                    SamplesPerSecond = table.Column<double>(type: "double precision", nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_EpochMetrics", x => x.Id);
                    table.ForeignKey(
                        name: "FK_EpochMetrics_Runs_RunId",
                        column: x => x.RunId,
                        principalTable: "Runs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "RunLogEntries",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    RunId = table.Column<int>(type: "integer", nullable: false),
                    Time = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    Level = table.Column<string>(type: "character varying(10)", maxLength: 10, nullable: false),
                    Message = table.Column<string>(type: "text", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RunLogEntries", x => x.Id);
                    table.ForeignKey(
                        name: "FK_RunLogEntries_Runs_RunId",
                        column: x => x.RunId,
                        principalTable: "Runs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "RunSystemSamples",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    RunId = table.Column<int>(type: "integer", nullable: false),
                    Time = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    CpuPercent = table.Column<double>(type: "double precision", nullable: false),
                    RssBytes = table.Column<long>(type: "bigint", nullable: false),
                    TorchThreads = table.Column<int>(type: "integer", nullable: false),
                    SamplesPerSecond = table.Column<double>(type: "double precision", nullable: false),
                    GpuPercent = table.Column<double>(type: "double precision", nullable: true),
                    GpuMemoryBytes = table.Column<long>(type: "bigint", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RunSystemSamples", x => x.Id);
                    table.ForeignKey(
                        name: "FK_RunSystemSamples_Runs_RunId",
                        column: x => x.RunId,
                        principalTable: "Runs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "StepMetricBlocks",
                columns: table => new
                {
                    RunId = table.Column<int>(type: "integer", nullable: false),
                    Block = table.Column<long>(type: "bigint", nullable: false),
                    FirstStep = table.Column<long>(type: "bigint", nullable: false),
                    Count = table.Column<int>(type: "integer", nullable: false),
                    Sum = table.Column<double>(type: "double precision", nullable: false),
                    Min = table.Column<double>(type: "double precision", nullable: false),
                    Max = table.Column<double>(type: "double precision", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_StepMetricBlocks", x => new { x.RunId, x.Block });
                    table.ForeignKey(
                        name: "FK_StepMetricBlocks_Runs_RunId",
                        column: x => x.RunId,
                        principalTable: "Runs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "StepMetrics",
                columns: table => new
                {
                    RunId = table.Column<int>(type: "integer", nullable: false),
                    Step = table.Column<long>(type: "bigint", nullable: false),
                    Epoch = table.Column<int>(type: "integer", nullable: false),
                    Loss = table.Column<double>(type: "double precision", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_StepMetrics", x => new { x.RunId, x.Step });
                    table.ForeignKey(
                        name: "FK_StepMetrics_Runs_RunId",
                        column: x => x.RunId,
                        principalTable: "Runs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Checkpoints_RunId_Epoch",
                table: "Checkpoints",
                columns: new[] { "RunId", "Epoch" });

            migrationBuilder.CreateIndex(
                name: "IX_Checkpoints_Status",
                table: "Checkpoints",
                column: "Status");

            migrationBuilder.CreateIndex(
                name: "IX_EpochMetrics_RunId_Epoch",
                table: "EpochMetrics",
                columns: new[] { "RunId", "Epoch" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_RunLogEntries_RunId_Id",
                table: "RunLogEntries",
                columns: new[] { "RunId", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_RunSystemSamples_RunId_Time",
                table: "RunSystemSamples",
                columns: new[] { "RunId", "Time" });

            migrationBuilder.CreateIndex(
                name: "IX_Runs_ParentCheckpointId",
                table: "Runs",
                column: "ParentCheckpointId");

            migrationBuilder.CreateIndex(
                name: "IX_Runs_ParentRunId",
                table: "Runs",
                column: "ParentRunId");

            migrationBuilder.CreateIndex(
                name: "IX_Runs_StartCheckpointId",
                table: "Runs",
                column: "StartCheckpointId");

            migrationBuilder.CreateIndex(
                name: "IX_Runs_Status",
                table: "Runs",
                column: "Status");

            migrationBuilder.AddForeignKey(
                name: "FK_Checkpoints_Runs_RunId",
                table: "Checkpoints",
                column: "RunId",
                principalTable: "Runs",
                principalColumn: "Id",
                onDelete: ReferentialAction.Cascade);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(
                name: "FK_Checkpoints_Runs_RunId",
                table: "Checkpoints");

            migrationBuilder.DropTable(
                name: "EpochMetrics");

            migrationBuilder.DropTable(
                name: "RunLogEntries");

            migrationBuilder.DropTable(
                name: "RunSystemSamples");

            migrationBuilder.DropTable(
                name: "StepMetricBlocks");

            migrationBuilder.DropTable(
                name: "StepMetrics");

            migrationBuilder.DropTable(
                name: "Runs");

            migrationBuilder.DropTable(
                name: "Checkpoints");
        }
    }
}
