using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Dashboard.Data.Migrations
{
    /// <inheritdoc />
    public partial class StepMetricBlocks : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "StepMetricBlocks",
                columns: table => new
                {
                    RunId = table.Column<int>(type: "INTEGER", nullable: false),
                    Block = table.Column<long>(type: "INTEGER", nullable: false),
                    FirstStep = table.Column<long>(type: "INTEGER", nullable: false),
                    Count = table.Column<int>(type: "INTEGER", nullable: false),
                    Sum = table.Column<double>(type: "REAL", nullable: false),
                    Min = table.Column<double>(type: "REAL", nullable: false),
                    Max = table.Column<double>(type: "REAL", nullable: false)
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

            // Written by hand: the steps already stored get their blocks, so an existing database answers wide ranges from
            // them at once. 4 is StepMetricStore.BlockShift as of this migration (blocks of 16 steps); it is spelled out
            // because a migration must keep doing what it did when the code moves on.
            migrationBuilder.Sql("""
                INSERT INTO StepMetricBlocks (RunId, Block, FirstStep, Count, Sum, Min, Max)
                SELECT RunId, Step >> 4, MIN(Step), COUNT(*), SUM(Loss), MIN(Loss), MAX(Loss)
                FROM StepMetrics
                GROUP BY RunId, Step >> 4;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "StepMetricBlocks");
        }
    }
}
