using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Dashboard.Data.Postgres.Migrations
{
    /// <inheritdoc />
    public partial class WorkerPlugins : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "PluginsJson",
                table: "Workers",
                type: "text",
                nullable: false,
                defaultValue: "[]");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "PluginsJson",
                table: "Workers");
        }
    }
}
