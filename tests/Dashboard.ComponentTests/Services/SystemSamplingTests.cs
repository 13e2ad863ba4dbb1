using Dashboard.Runs.Monitoring;

namespace Dashboard.ComponentTests.Services;

/// <summary>The pure parts of system sampling: the per-run budget, the CPU share and nvidia-smi's answer.</summary>
public sealed class SystemSamplingTests
{
    [Fact]
    public void SampleBudget_WeekLongRun_StaysWithinCapacityEvenlySpacedOverTheWholeRun()
    {
        // A week at one reading per 5 s, replayed against a list standing in for the table.
        const int capacity = 100;
        const long readings = 7 * 24 * 3600 / 5;
        var budget = new SampleBudget(capacity);
        var stored = new List<long>();
        for (long reading = 0; reading < readings; reading++)
        {
            if (!budget.Take())
            {
                continue;
            }

            stored.Add(reading);
            foreach (var position in budget.Thin(stored.Count).Reverse())
            {
                stored.RemoveAt(position);
            }

            Assert.True(stored.Count <= capacity, $"{stored.Count} samples stored at reading {reading}.");
        }

        Assert.True(stored.Count > capacity / 2, $"Only {stored.Count} samples were kept.");
        Assert.Equal(0, stored[0]);
        var gaps = stored.Zip(stored.Skip(1), (a, b) => b - a).Distinct().ToList();
        Assert.Equal([budget.Stride], gaps);
        Assert.True(readings - 1 - stored[^1] < budget.Stride, $"The newest sample is from reading {stored[^1]} of {readings}.");
    }

    [Fact]
    public void SampleBudget_ShortRun_KeepsEveryReading()
    {
        var budget = new SampleBudget(1000);

        var taken = Enumerable.Range(0, 1000).Count(_ => budget.Take());

        Assert.Equal(1000, taken);
        Assert.Empty(budget.Thin(1000));
        Assert.Equal(1, budget.Stride);
    }

    [Theory]
    [InlineData(2.0, 1.0, 4, 50.0)]
    [InlineData(0.5, 1.0, 1, 50.0)]
    [InlineData(9.0, 1.0, 2, 100.0)]
    [InlineData(1.0, 0.0, 2, 0.0)]
    public void CpuPercent_CpuTimeOverWallTime_IsAShareOfAllCores(double cpuSeconds, double wallSeconds, int cores, double expected)
    {
        Assert.Equal(expected, ProcessUsage.CpuPercent(TimeSpan.FromSeconds(cpuSeconds), TimeSpan.FromSeconds(wallSeconds), cores), 6);
    }

    [Fact]
    public void GpuParse_TwoDevices_ReadsTheRunsDeviceInBytes()
    {
        const string output = "37, 1024\n88, 2048\n";

        Assert.Equal((37.0, 1024L * 1024 * 1024), GpuUsage.Parse(output, 0));
        Assert.Equal((88.0, 2048L * 1024 * 1024), GpuUsage.Parse(output, 1));
        Assert.Null(GpuUsage.Parse(output, 2));
        Assert.Null(GpuUsage.Parse("[N/A], 12\n", 0));
    }

    [Theory]
    [InlineData("cuda", 0)]
    [InlineData("cuda:1", 1)]
    [InlineData("cpu", null)]
    [InlineData("cuda:x", null)]
    public void CudaIndex_DeviceName_NamesTheGpuOrNone(string device, int? expected)
    {
        Assert.Equal(expected, GpuUsage.CudaIndex(device));
    }
}
