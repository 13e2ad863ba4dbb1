using Dashboard.Runs.Contracts;
using Plotly.Blazor.LayoutLib;
using Plotly.Blazor.Traces;
using Plotly.Blazor.Traces.ScatterLib;

namespace Dashboard.Web.Components.Controls;

/// <summary>How the chart's traces and its "best" label are built for plotly.js.</summary>
public sealed partial class TrainingChart
{
    private static readonly ScoreTraces AccuracyScore = new("accuracy", "val_accuracy", "accuracy", m => m.Accuracy, m => m.ValAccuracy);
    private static readonly ScoreTraces MaeScore = new("mae", "val_mae", "MAE", m => m.Mae, m => m.ValMae);

    /// <summary>What the score traces draw: a classification run's accuracy, a regression run's mean absolute error.</summary>
    private static ScoreTraces ScoreOf(bool regression) => regression ? MaeScore : AccuracyScore;

    private static IEnumerable<(int Epoch, double Value)> Points(IEnumerable<MetricDto> metrics, Func<MetricDto, double?> value) =>
        metrics.Select(m => (m.Epoch, Value: value(m))).Where(p => p.Value is not null).Select(p => (p.Epoch, p.Value!.Value));

    /// <summary>The "best" label over the current best's marker (at the top of the plot when it has no height); none without one.</summary>
    private static IEnumerable<Annotation> BestAnnotation(MarkerTrace best)
    {
        if (best.Ids.Count == 0)
        {
            return [];
        }

        var label = new Annotation
        {
            X = best.X[0],
            XRef = "x",
            Text = "best",
            Font = new Plotly.Blazor.LayoutLib.AnnotationLib.Font { Color = "#b45309", Size = 12 },
            BgColor = "rgba(255,255,255,0.85)",
        };
        if (best.Y[0] is { } y)
        {
            label.Y = y;
            label.YRef = "y";
            label.ShowArrow = true;
            label.Arrowhead = 2;
            label.ArrowColor = "#b45309";
            label.Ax = 0;
            label.Ay = -34;
        }
        else
        {
            label.Y = 1;
            label.YRef = "paper";
            label.YAnchor = Plotly.Blazor.LayoutLib.AnnotationLib.YAnchorEnum.Bottom;
            label.ShowArrow = false;
        }

        return [label];
    }

    private static Scatter MarkerScatter(string name, string color, MarkerTrace trace) => new()
    {
        Name = name,
        Mode = ModeFlag.Markers,
        YAxis = "y",
        X = [.. trace.X.Cast<object>()],
        Y = [.. trace.Y.Select(v => (object?)v)],
        TextArray = [.. trace.Text],
        HoverTemplate = "%{text}<extra></extra>",
        Marker = new Marker
        {
            Color = color,
            SymbolArray = [.. trace.Symbols],
            OpacityArray = [.. trace.Opacity],
            SizeArray = [.. trace.Size],
            Line = new Plotly.Blazor.Traces.ScatterLib.MarkerLib.Line { ColorArray = [.. trace.LineColors], WidthArray = [.. trace.LineWidths] },
        },
    };

    private static Scatter Line(string name, string color, string axis, IEnumerable<(int Epoch, double Value)> points, bool dotted = false)
    {
        var list = points.ToList();
        return new Scatter
        {
            Name = name,
            Mode = ModeFlag.Lines | ModeFlag.Markers,
            X = list.Select(p => (object)p.Epoch).ToList(),
            Y = list.Select(p => (object)p.Value).ToList(),
            YAxis = axis,
            Line = new Line { Color = color, Width = 2, Dash = dotted ? "dot" : "solid" },
            Marker = new Marker { Color = color, Size = 6 },
        };
    }
}

/// <summary>The names, axis title and values of the chart's two score traces.</summary>
internal sealed record ScoreTraces(string Name, string ValName, string AxisTitle, Func<MetricDto, double?> Train, Func<MetricDto, double?> Validation);
