using Dashboard.ServerProcess;
using Dashboard.TestSupport;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.IntegrationTests;

/// <summary>What a run has in the database, counted table by table: how deletion tests tell "whole" from "gone".</summary>
internal static class RunRows
{
    public static Task<(int Metrics, int Steps, int Blocks, int Checkpoints, int Runs)> CountRunRowsAsync(this DashboardServer server, int runId) =>
        server.ReadDatabaseAsync(async db => (
            await db.EpochMetrics.CountAsync(m => m.RunId == runId),
            await db.StepMetrics.CountAsync(s => s.RunId == runId),
            await db.StepMetricBlocks.CountAsync(b => b.RunId == runId),
            await db.Checkpoints.CountAsync(c => c.RunId == runId),
            await db.Runs.CountAsync(r => r.Id == runId)));
}
