using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Dashboard.Data.Migrations
{
    /// <inheritdoc />
    public partial class RegressionMetrics : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<double>(
                name: "Mae",
                table: "EpochMetrics",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "ValMae",
                table: "EpochMetrics",
                type: "REAL",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "Mae",
                table: "EpochMetrics");

            migrationBuilder.DropColumn(
                name: "ValMae",
                table: "EpochMetrics");
        }
    }
}
