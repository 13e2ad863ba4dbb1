using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime;
using Dashboard.Bench.Figures;

namespace Dashboard.Bench;

/// <summary>
/// The dashboard's benchmark: <c>dotnet run -c Release --project bench/Dashboard.Bench -- --quick</c> (or <c>--full</c>).
/// Prints a markdown table and writes the same figures as JSON to <c>bench/results/latest.json</c>. Every figure is a ratio
/// of two things measured side by side in the same run; absolute times are shown alongside only. Nothing is asserted.
/// </summary>
public static class BenchProgram
{
    private const string Usage = """
        Usage: dotnet run -c Release --project bench/Dashboard.Bench -- [--quick | --full] [--only 1,2,3,4,4-pg,5,6,7,7a,7b] [--keep] [--out PATH]
          --quick   scaled-down figures, under two minutes on two cores (the default)
          --full    full-size figures (10,000 runs / 10,000,000 metric rows, whole MNIST, more repetitions)
          --only    run only these figures
          --keep    keep the temporary data folder (databases, checkpoints, server data)
          --out     where to write the JSON (default: bench/results/latest.json in the repository)
        """;

    public static async Task<int> Main(string[] args)
    {
        if (args is [TrainerWorker.Flag])
        {
            return await TrainerWorker.ServeAsync();
        }

        var full = false;
        var keep = false;
        var only = new HashSet<string>(StringComparer.Ordinal);
        string? output = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    full = false;
                    break;
                case "--full":
                    full = true;
                    break;
                case "--keep":
                    keep = true;
                    break;
                case "--only" when i + 1 < args.Length:
                    only.UnionWith(args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                    break;
                case "--out" when i + 1 < args.Length:
                    output = Path.GetFullPath(args[++i]);
                    break;
                default:
                    Console.Error.WriteLine(Usage);
                    return args[i] is "--help" or "-h" ? 0 : 2;
            }
        }

        var work = Path.Combine(Path.GetTempPath(), $"dashboard-bench-{Environment.ProcessId}-{DateTime.UtcNow:yyyyMMddHHmmss}");
        Directory.CreateDirectory(work);
        var settings = new BenchSettings(full, only, work, keep);
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
            DashboardServer.KillAll();
        };
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DashboardServer.KillAll();

        var started = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        var machine = MachineInfo.Describe(MachineInfo.LoadAverage());
        Console.WriteLine($"Dashboard bench, --{settings.Mode}: {machine.Cores} cores, {machine.CpuModel}, {machine.Device}; load average {machine.LoadAverageStart}.");
        var figures = new List<FigureResult>();
        try
        {
            if (settings.Runs("6"))
            {
                figures.Add(await Measure("6", "Long curves", () => Task.FromResult(LongCurves.Run(settings))));
                figures.Add(await Measure("6b", "Per-step route", () => StepsRoute.RunAsync(settings, cancel.Token)));
            }

            if (settings.Runs("4"))
            {
                figures.AddRange(await MeasureMany("4", "Metadata at scale", () => MetadataAtScale.RunAsync(settings, cancel.Token)));
            }

            if (settings.Runs("4-pg"))
            {
                figures.AddRange(await MeasureMany("4-pg", "Metadata at scale on PostgreSQL", () => MetadataOnPostgres.RunAsync(settings, cancel.Token)));
            }

            if (settings.Runs("2"))
            {
                figures.AddRange(await MeasureMany("2", "Checkpoint save", () => CheckpointSave.RunAsync(settings, cancel.Token)));
            }

            if (settings.Runs("7") || settings.Runs("7a") || settings.Runs("7b"))
            {
                figures.AddRange(await MeasureMany("7", "Distributed mode", () => DistributedFigures.RunAsync(settings, cancel.Token)));
            }

            if (settings.Runs("1") || settings.Runs("3") || settings.Runs("5"))
            {
                // Figures 2 and 4 leave large garbage behind; collect it now rather than during the bare loop of figure 1.
                GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                GC.WaitForPendingFinalizers();
                figures.AddRange(await MeasureMany("1/3/5", "Server figures", () => ServerFigures.RunAsync(settings, cancel.Token)));
            }
        }
        finally
        {
            DashboardServer.KillAll();
            if (!keep)
            {
                TryDelete(work);
            }
        }

        figures.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        var notes = new List<string>
        {
            "Figures measured while other work may load the machine are noisy; the load averages above say how busy it was. Ratios are of medians measured side by side in this run.",
        };
        if (keep)
        {
            notes.Add($"Data kept in {work}.");
        }

        var report = new BenchReport(settings.Mode, started, clock.Elapsed.TotalSeconds, machine with { LoadAverageEnd = MachineInfo.LoadAverage() }, figures, notes);
        var markdown = report.ToMarkdown();
        Console.WriteLine();
        Console.WriteLine(markdown);
        output ??= Path.Combine(RepoRoot(), "bench", "results", "latest.json");
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        var temporary = output + ".tmp";
        await File.WriteAllTextAsync(temporary, report.ToJson() + "\n", CancellationToken.None);
        File.Move(temporary, output, overwrite: true);
        Console.WriteLine($"Wrote {output}.");
        return 0;
    }

    internal static FigureResult Failure(string id, string name, Exception e) => new()
    {
        Id = id,
        Name = name,
        RatioMeaning = "",
        Target = "",
        Verdict = FigureResult.Failed,
        Absolute = $"{e.GetType().Name}: {e.Message}",
    };

    private static async Task<FigureResult> Measure(string id, string name, Func<Task<FigureResult>> figure) =>
        (await MeasureMany(id, name, async () => [await figure()]))[0];

    private static async Task<IReadOnlyList<FigureResult>> MeasureMany(string id, string name, Func<Task<IReadOnlyList<FigureResult>>> figure)
    {
        var clock = Stopwatch.StartNew();
        Console.Write($"Figure {id} ({name})… ");
        try
        {
            var results = await figure();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{clock.Elapsed.TotalSeconds:F1} s, load {MachineInfo.LoadAverage()}"));
            foreach (var result in results)
            {
                result.Details["figureSeconds"] = Stats.Round(clock.Elapsed.TotalSeconds, 1);
            }

            return results;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Console.WriteLine($"failed: {e}");
            return [Failure(id, name, e)];
        }
    }

    internal static string RepoRoot()
    {
        var configured = typeof(BenchProgram).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == "RepoRoot")?.Value;
        return configured is { Length: > 0 } && Directory.Exists(configured) ? configured : Directory.GetCurrentDirectory();
    }

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary folder is harmless.
        }
    }
}
