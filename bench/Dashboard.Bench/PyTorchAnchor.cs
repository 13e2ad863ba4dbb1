using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Dashboard.Bench;

/// <summary>
/// The outside anchor of figure 1: <c>bench/pytorch_anchor.py</c> trains the same CNN on the same MNIST file with the
/// same batch, optimizer and thread count in PyTorch (CPU). Available only where <c>/usr/bin/python3 -c "import torch"</c>
/// works; otherwise <see cref="Unavailable"/> says why and no figure is made up.
/// </summary>
internal sealed class PyTorchAnchor
{
    private const string Python = "/usr/bin/python3";

    private readonly string _script;
    private readonly string _data;

    private PyTorchAnchor(string script, string data, string version)
    {
        _script = script;
        _data = data;
        Version = version;
    }

    public string Version { get; }

    /// <summary>Why the anchor cannot run here, when it cannot.</summary>
    public static string? Unavailable { get; private set; }

    public static PyTorchAnchor? Find(string repoRoot)
    {
        var script = Path.Combine(repoRoot, "bench", "pytorch_anchor.py");
        var data = Dashboard.Engine.Datasets.MnistDataset.DefaultPath;
        if (!File.Exists(Python))
        {
            Unavailable = $"skipped: {Python} is not installed";
            return null;
        }

        if (!File.Exists(script))
        {
            Unavailable = $"skipped: {script} is missing";
            return null;
        }

        var (code, output, error) = Run(["-c", "import torch; print(torch.__version__)"], TimeSpan.FromSeconds(60));
        if (code != 0)
        {
            Unavailable = $"skipped: `{Python} -c \"import torch\"` failed ({error.Trim().Split('\n').LastOrDefault()})";
            return null;
        }

        Unavailable = null;
        return new PyTorchAnchor(script, data, output.Trim());
    }

    /// <summary>Per-epoch samples/s of one PyTorch run (every epoch, the first included).</summary>
    public double[] SamplesPerSecond(int train, int validation, int epochs, int batchSize, int threads)
    {
        var (code, output, error) = Run(
            [_script, _data, "--train", Invariant(train), "--validation", Invariant(validation), "--epochs", Invariant(epochs), "--batch", Invariant(batchSize), "--threads", Invariant(threads)],
            TimeSpan.FromMinutes(10));
        if (code != 0)
        {
            throw new InvalidOperationException($"pytorch_anchor.py exited with {code}: {error}");
        }

        var answer = JsonNode.Parse(output.Trim().Split('\n')[^1])!;
        return [.. answer["samplesPerSecond"]!.AsArray().Select(v => v!.GetValue<double>())];
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static (int Code, string Output, string Error) Run(IEnumerable<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{Python} did not start.");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return (-1, output, $"timed out after {timeout.TotalSeconds:F0} s");
        }

        return (process.ExitCode, output, error.GetAwaiter().GetResult());
    }
}
