using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Dashboard.Data.Migrations
{
    /// <inheritdoc />
    public partial class RunStartCheckpoint : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "StartCheckpointId",
                table: "Runs",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_Runs_StartCheckpointId",
                table: "Runs",
                column: "StartCheckpointId");

            migrationBuilder.AddForeignKey(
                name: "FK_Runs_Checkpoints_StartCheckpointId",
                table: "Runs",
                column: "StartCheckpointId",
                principalTable: "Checkpoints",
                principalColumn: "Id",
                onDelete: ReferentialAction.Restrict);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(
                name: "FK_Runs_Checkpoints_StartCheckpointId",
                table: "Runs");

            migrationBuilder.DropIndex(
                name: "IX_Runs_StartCheckpointId",
                table: "Runs");

            migrationBuilder.DropColumn(
                name: "StartCheckpointId",
                table: "Runs");
        }
    }
}
