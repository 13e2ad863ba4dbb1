using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using Dashboard.Engine.Training;
using Dashboard.Engine.Training.Optimizers;

namespace Dashboard.Bench;

/// <summary>
/// The two sides of figure 1 that have no dashboard (the bare loop and the real <see cref="Trainer"/> with an observer
/// that does nothing), trained in a long-lived child process started the way the server is (<c>dotnet X.dll</c>, server
/// GC, torch's default pool) and warmed the same way, so the three sides differ only in what the dashboard adds, not in
/// the kind of process. The bench sends one line per run (<c>bare|trainer EPOCHS SAMPLE_LIMIT</c>, 0 = all) and reads
/// one JSON line back: the per-epoch samples/s.
/// </summary>
internal sealed class TrainerWorker : IAsyncDisposable
{
    public const string Flag = "--worker";
    public const int Seed = 42;
    public const int BatchSize = 64;
    public const double LearningRate = 0.001;

    private readonly Process _process;
    private readonly Queue<string> _errors = new();

    private TrainerWorker(Process process) => _process = process;

    public static TrainingConfig Config(int epochs, int? sampleLimit) => new()
    {
        Dataset = "mnist",
        Model = "cnn",
        Epochs = epochs,
        BatchSize = BatchSize,
        LearningRate = LearningRate,
        Optimizer = OptimizerNames.Adam,
        Seed = Seed,
        ValidationSplit = 0.1,
        SampleLimit = sampleLimit,
    };

    public static TrainerWorker Start()
    {
        var dll = typeof(TrainerWorker).Assembly.Location;
        var host = Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
        var start = new ProcessStartInfo(host)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add(Flag);
        start.Environment["DOTNET_NOLOGO"] = "1";
        var process = Process.Start(start) ?? throw new InvalidOperationException("The trainer worker did not start.");
        var worker = new TrainerWorker(process);

        // Read as it comes: an undrained pipe that fills up would block the worker mid-epoch and count as training time.
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (worker._errors)
                {
                    worker._errors.Enqueue(line);
                    while (worker._errors.Count > 50)
                    {
                        worker._errors.Dequeue();
                    }
                }
            }
        };
        process.BeginErrorReadLine();
        return worker;
    }

    private string ErrorTail()
    {
        lock (_errors)
        {
            return string.Join(Environment.NewLine, _errors);
        }
    }

    /// <summary>Trains one run in the worker; returns its per-epoch samples/s (every epoch, the first included).</summary>
    public async Task<double[]> RunAsync(string side, int epochs, int? sampleLimit, CancellationToken cancellationToken)
    {
        await _process.StandardInput.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{side} {epochs} {sampleLimit ?? 0}").AsMemory(), cancellationToken);
        await _process.StandardInput.FlushAsync(cancellationToken);
        var line = await _process.StandardOutput.ReadLineAsync(cancellationToken);
        if (line is null)
        {
            await _process.WaitForExitAsync(cancellationToken);
            throw new InvalidOperationException($"The trainer worker exited: {ErrorTail()}");
        }

        return JsonSerializer.Deserialize<double[]>(line) ?? throw new InvalidOperationException($"The trainer worker answered '{line}'.");
    }

    public async ValueTask DisposeAsync()
    {
        // Closing its input ends the worker's loop; a worker stuck in a run is killed.
        _process.StandardInput.Close();
        if (!_process.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    /// <summary>The worker's side: reads runs from standard input until it closes.</summary>
    public static async Task<int> ServeAsync()
    {
        var device = DeviceSelector.Resolve(DeviceSelector.Auto);
        while (Console.In.ReadLine() is { } line)
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var limit = int.Parse(parts[2], CultureInfo.InvariantCulture);
            var config = Config(int.Parse(parts[1], CultureInfo.InvariantCulture), limit == 0 ? null : limit);
            IReadOnlyList<double> perEpoch;
            if (parts[0] == "bare")
            {
                perEpoch = BareLoop.SamplesPerSecond(config, device);
            }
            else
            {
                var recorder = new EpochRecorder();
                await new Trainer(DatasetRegistry.CreateDefault(), ModelRegistry.CreateDefault())
                    .RunAsync(new TrainingRequest(config, device), recorder, CancellationToken.None);
                perEpoch = recorder.SamplesPerSecond;
            }

            Console.Out.WriteLine(JsonSerializer.Serialize(perEpoch));
            Console.Out.Flush();
        }

        return 0;
    }

    /// <summary>An observer that keeps each epoch's samples/s and ignores everything else.</summary>
    private sealed class EpochRecorder : ITrainingObserver
    {
        public List<double> SamplesPerSecond { get; } = [];

        public ValueTask OnStartedAsync(RunStartInfo info, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public void OnProgress(BatchProgress progress)
        {
        }

        public ValueTask OnEpochCompletedAsync(EpochMetrics metrics, CancellationToken cancellationToken)
        {
            SamplesPerSecond.Add(metrics.SamplesPerSecond);
            return ValueTask.CompletedTask;
        }

        public ValueTask OnCheckpointAsync(CheckpointSnapshot snapshot, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
