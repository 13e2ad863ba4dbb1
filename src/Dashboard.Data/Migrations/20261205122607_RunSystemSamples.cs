using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Dashboard.Data.Migrations
{
    /// <inheritdoc />
    public partial class RunSystemSamples : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "RunSystemSamples",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    RunId = table.Column<int>(type: "INTEGER", nullable: false),
                    Time = table.Column<DateTime>(type: "TEXT", nullable: false),
                    CpuPercent = table.Column<double>(type: "REAL", nullable: false),
                    RssBytes = table.Column<long>(type: "INTEGER", nullable: false),
                    TorchThreads = table.Column<int>(type: "INTEGER", nullable: false),
                    SamplesPerSecond = table.Column<double>(type: "REAL", nullable: false),
                    GpuPercent = table.Column<double>(type: "REAL", nullable: true),
                    GpuMemoryBytes = table.Column<long>(type: "INTEGER", nullable: true)
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

            migrationBuilder.CreateIndex(
                name: "IX_RunSystemSamples_RunId_Time",
                table: "RunSystemSamples",
                columns: new[] { "RunId", "Time" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "RunSystemSamples");
        }
    }
}
