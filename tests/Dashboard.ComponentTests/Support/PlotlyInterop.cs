using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bunit;
using Microsoft.JSInterop;
using Microsoft.JSInterop.Infrastructure;
using Dashboard.Web.Components.Controls;
using Plotly.Blazor;
using Plotly.Blazor.Interop;

namespace Dashboard.ComponentTests.Support;

/// <summary>A trace as <c>newPlot</c> hands it to plotly.js.</summary>
public sealed record PlottedTrace(string Name, double[] X, double?[] Y);

/// <summary>One <c>extendTraces</c> call: per trace index, the x and y values appended to it.</summary>
public sealed record TraceExtension(string ChartId, int[] Indices, double[][] X, double?[][] Y);

/// <summary>One <c>Plotly.update</c> call: attribute paths with a value per trace updated, layout paths, the trace indices.</summary>
public sealed record PlotUpdate(string ChartId, int[] Indices, JsonObject Data, JsonObject Layout);

/// <summary>
/// Stands in for the JS module Plotly.Blazor imports and records what reaches it. Arguments are serialised the moment
/// they are sent, with the options Blazor's own JS runtime uses, so a test sees exactly the JSON the browser would get,
/// and a value that cannot cross the wire fails the call as it would in the app.
/// </summary>
public sealed class PlotlyInterop
{
    /// <summary>Where Plotly.Blazor 7.2.0 imports its interop module from (a new package version renames it).</summary>
    public const string ModulePath = "./_content/Plotly.Blazor/plotly-interop-7.2.0.js";

    private readonly WireRecorder _plots;
    private readonly WireRecorder _extensions;
    private readonly WireRecorder _updates;
    private readonly ConcurrentQueue<(string Identifier, JsonElement Arguments)> _drawCalls = new();
    private readonly ConcurrentQueue<DotNetObjectReference<TrainingChart>> _clickSubscribers = new();
    private readonly ConcurrentQueue<DotNetObjectReference<PlotlyChart>> _relayoutSubscribers = new();

    private PlotlyInterop(BunitJSModuleInterop module, BunitJSModuleInterop clicks)
    {
        clicks.SetupVoid("subscribe", invocation =>
        {
            // Kept, so a test can play a click the browser resolved back into the chart.
            _clickSubscribers.Enqueue((DotNetObjectReference<TrainingChart>)invocation.Arguments[0]!);
            return true;
        }).SetVoidResult();
        clicks.SetupVoid("unsubscribe", _ => true).SetVoidResult();

        // Loading plotly.js itself has nothing to assert; every other call the chart makes must be one set up here.
        module.SetupVoid("importScript", _ => true).SetVoidResult();
        _plots = new WireRecorder(module, _drawCalls, "newPlot", "react");
        _extensions = new WireRecorder(module, _drawCalls, "extendTraces");
        _updates = new WireRecorder(module, _drawCalls, "update");
        module.SetupVoid("subscribeRelayoutEvent", invocation =>
        {
            _relayoutSubscribers.Enqueue((DotNetObjectReference<PlotlyChart>)invocation.Arguments[0]!);
            return true;
        }).SetVoidResult();
    }

    /// <summary>Charts that asked to hear about zooms, pans and resizes.</summary>
    public int RelayoutSubscriptions => _relayoutSubscribers.Count;

    /// <summary>What plotly.js sends after a zoom or pan to [<paramref name="x0"/>, <paramref name="x1"/>] on the x axis.</summary>
    public void ZoomX(double x0, double x1) => Relayout(new RelayoutEventData
    {
        XRange = [JsonSerializer.SerializeToElement(x0), JsonSerializer.SerializeToElement(x1)],
        RawData = new Dictionary<string, JsonElement>
        {
            ["xaxis.range[0]"] = JsonSerializer.SerializeToElement(x0),
            ["xaxis.range[1]"] = JsonSerializer.SerializeToElement(x1),
        },
    });

    /// <summary>What plotly.js sends after a double-click: both axes back to autorange.</summary>
    public void DoubleClick() => Relayout(new RelayoutEventData
    {
        RawData = new Dictionary<string, JsonElement>
        {
            ["xaxis.autorange"] = JsonSerializer.SerializeToElement(true),
            ["yaxis.autorange"] = JsonSerializer.SerializeToElement(true),
        },
    });

    private void Relayout(RelayoutEventData data)
    {
        var chart = _relayoutSubscribers.LastOrDefault() ?? throw new InvalidOperationException("No chart subscribed to relayout events.");
        chart.Value.RelayoutEvent(data);
    }

    /// <summary>Charts that asked to hear about clicks.</summary>
    public int ClickSubscriptions => _clickSubscribers.Count;

    /// <summary>What the chart's click module reports for a click pressed on a point: the point and the x pressed.</summary>
    public void Click(double x, int traceIndex = 0, int pointIndex = 0)
    {
        var chart = _clickSubscribers.LastOrDefault() ?? throw new InvalidOperationException("No chart subscribed to clicks.");
        chart.Value.OnChartClicked(new PressedPoint(traceIndex, pointIndex, x), x);
    }

    /// <summary>What the chart's click module reports for a click pressed on empty space at <paramref name="x"/>.</summary>
    public void ClickEmpty(double x)
    {
        var chart = _clickSubscribers.LastOrDefault() ?? throw new InvalidOperationException("No chart subscribed to clicks.");
        chart.Value.OnChartClicked(null, x);
    }

    /// <summary>Clicks the point of the named trace that is drawn at <paramref name="x"/> now.</summary>
    public void ClickPoint(string traceName, double x)
    {
        var traces = Current();
        var index = traces.FindIndex(t => t.Name == traceName);
        var trace = index >= 0 ? traces[index] : throw new InvalidOperationException($"No trace named {traceName}.");
        var point = Array.FindIndex(trace.X, v => Math.Abs(v - x) < 1e-9);
        if (point < 0)
        {
            throw new InvalidOperationException($"{traceName} has no point at {x}.");
        }

        Click(trace.X[point], index, point);
    }

    public static PlotlyInterop Setup(BunitJSInterop jsInterop) => new(jsInterop.SetupModule(ModulePath), jsInterop.SetupModule(TrainingChart.ClickModule));

    /// <summary>Every full draw (<c>newPlot</c> or <c>react</c>) so far, as the list of traces sent.</summary>
    public IReadOnlyList<IReadOnlyList<PlottedTrace>> Plots => [.. _plots.Calls.Select(ReadPlot)];

    /// <summary>The layout sent with each full draw, as JSON.</summary>
    public IReadOnlyList<JsonElement> PlotLayouts => [.. _plots.Calls.Select(arguments => arguments[2])];

    public IReadOnlyList<TraceExtension> Extensions => [.. _extensions.Calls.Select(ReadExtension)];

    /// <summary>Every full draw as sent, for charts whose traces are not x/y curves (a heatmap).</summary>
    public IReadOnlyList<(string ChartId, JsonElement Data)> RawPlots => [.. _plots.Calls.Select(c => (c[0].GetString()!, c[1]))];

    /// <summary>Every <c>extendTraces(id, x, y, indices, max)</c> as sent, for charts whose x values are not numbers (dates).</summary>
    public IReadOnlyList<JsonElement> RawExtensions => [.. _extensions.Calls];

    public IReadOnlyList<PlotUpdate> Updates => [.. _updates.Calls.Select(ReadUpdate)];

    /// <summary>
    /// The traces as plotly.js holds them now: the last full draw with every later <c>extendTraces</c> and
    /// <c>Plotly.update</c> applied by plotly.js's rules (extend appends; update sets each attribute path of each trace
    /// listed to that trace's value, the i-th of an array).
    /// </summary>
    public List<TraceState> Current() => [.. Fold().Data.Select(t => new TraceState(t!.AsObject()))];

    /// <summary>The layout as plotly.js holds it now (see <see cref="Current"/>).</summary>
    public JsonObject CurrentLayout() => Fold().Layout;

    /// <summary>Waits until the browser's traces satisfy <paramref name="condition"/>; returns them either way.</summary>
    public async Task<List<TraceState>> WaitForStateAsync(Func<List<TraceState>, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_plots.Calls.Count > 0 && condition(Current()))
            {
                break;
            }

            await Task.Delay(20);
        }

        return Current();
    }

    private (JsonArray Data, JsonObject Layout) Fold()
    {
        var data = new JsonArray();
        var layout = new JsonObject();
        foreach (var (identifier, arguments) in _drawCalls)
        {
            switch (identifier)
            {
                case "newPlot" or "react":
                    data = JsonNode.Parse(arguments[1].GetRawText())!.AsArray();
                    layout = arguments[2].ValueKind == JsonValueKind.Object ? JsonNode.Parse(arguments[2].GetRawText())!.AsObject() : [];
                    break;
                case "extendTraces":
                    var extension = ReadExtension(arguments);
                    for (var i = 0; i < extension.Indices.Length; i++)
                    {
                        var trace = data[extension.Indices[i]]!.AsObject();
                        foreach (var x in extension.X[i])
                        {
                            trace["x"]!.AsArray().Add(x);
                        }

                        foreach (var y in extension.Y[i])
                        {
                            trace["y"]!.AsArray().Add(y);
                        }
                    }

                    break;
                case "update":
                    var update = ReadUpdate(arguments);
                    foreach (var (path, value) in update.Data)
                    {
                        for (var i = 0; i < update.Indices.Length; i++)
                        {
                            var perTrace = value is JsonArray values ? values[i % values.Count] : value;
                            Set(data[update.Indices[i]]!.AsObject(), path, perTrace?.DeepClone());
                        }
                    }

                    foreach (var (path, value) in update.Layout)
                    {
                        Set(layout, path, value?.DeepClone());
                    }

                    break;
            }
        }

        return (data, layout);
    }

    private static void Set(JsonObject target, string path, JsonNode? value)
    {
        var parts = path.Split('.');
        foreach (var part in parts[..^1])
        {
            if (target[part] is not JsonObject child)
            {
                child = [];
                target[part] = child;
            }

            target = child;
        }

        target[parts[^1]] = value;
    }

    /// <summary>
    /// Waits for draws the test cannot await: a chart draws after its first render, which may finish after the markup a
    /// test waited for.
    /// </summary>
    public async Task<IReadOnlyList<IReadOnlyList<PlottedTrace>>> WaitForPlotsAsync(int count, TimeSpan timeout)
    {
        await WaitForCallsAsync(_plots, count, timeout);
        return Plots;
    }

    /// <summary>Waits for extensions the chart's flush timer sends rather than anything the test does.</summary>
    public async Task<IReadOnlyList<TraceExtension>> WaitForExtensionsAsync(int count, TimeSpan timeout)
    {
        await WaitForCallsAsync(_extensions, count, timeout);
        return Extensions;
    }

    private static async Task WaitForCallsAsync(WireRecorder recorder, int count, TimeSpan timeout)
    {
        // Polled, because JS calls cause no render for bUnit's WaitFor helpers to wake up on.
        var deadline = DateTime.UtcNow + timeout;
        while (recorder.Calls.Count < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
    }

    private static IReadOnlyList<PlottedTrace> ReadPlot(JsonElement arguments)
    {
        // newPlot(id, data, layout, config, frames)
        return [.. arguments[1].EnumerateArray().Select(trace => new PlottedTrace(
            trace.GetProperty("name").GetString()!,
            [.. trace.GetProperty("x").EnumerateArray().Select(v => v.GetDouble())],
            [.. trace.GetProperty("y").EnumerateArray().Select(ReadNumber)]))];
    }

    private static TraceExtension ReadExtension(JsonElement arguments)
    {
        // extendTraces(id, x, y, indices, max)
        return new TraceExtension(
            arguments[0].GetString()!,
            [.. arguments[3].EnumerateArray().Select(v => v.GetInt32())],
            [.. arguments[1].EnumerateArray().Select(xs => xs.EnumerateArray().Select(v => v.GetDouble()).ToArray())],
            [.. arguments[2].EnumerateArray().Select(ys => ys.EnumerateArray().Select(ReadNumber).ToArray())]);
    }

    private static PlotUpdate ReadUpdate(JsonElement arguments)
    {
        // update(id, dataUpdate, layoutUpdate, indices)
        return new PlotUpdate(
            arguments[0].GetString()!,
            [.. arguments[3].EnumerateArray().Select(v => v.GetInt32())],
            arguments[1].ValueKind == JsonValueKind.Object ? JsonNode.Parse(arguments[1].GetRawText())!.AsObject() : [],
            arguments[2].ValueKind == JsonValueKind.Object ? JsonNode.Parse(arguments[2].GetRawText())!.AsObject() : []);
    }

    private static double? ReadNumber(JsonElement value) => value.ValueKind == JsonValueKind.Null ? null : value.GetDouble();

    private sealed class WireRecorder : JSRuntimeInvocationHandler
    {
        private readonly ConcurrentQueue<JsonElement> _calls = new();
        private readonly ConcurrentQueue<(string, JsonElement)> _allCalls;

        public WireRecorder(BunitJSModuleInterop module, ConcurrentQueue<(string, JsonElement)> allCalls, params string[] identifiers)
            : base(invocation => identifiers.Contains(invocation.Identifier), isCatchAllHandler: false)
        {
            _allCalls = allCalls;
            SetVoidResult();
            module.AddInvocationHandler(this);
        }

        public IReadOnlyCollection<JsonElement> Calls => _calls;

        protected override Task<IJSVoidResult> HandleAsync(JSRuntimeInvocation invocation)
        {
            var arguments = JsonSerializer.SerializeToElement(invocation.Arguments, WireFormat.Options);
            lock (_allCalls)
            {
                _calls.Enqueue(arguments);
                _allCalls.Enqueue((invocation.Identifier, arguments));
            }

            return base.HandleAsync(invocation);
        }
    }

    /// <summary>Borrows the serializer options of Blazor's JS runtime; it never talks to a browser.</summary>
    private sealed class WireFormat : JSRuntime
    {
        public static JsonSerializerOptions Options { get; } = new WireFormat().JsonSerializerOptions;

        protected override void BeginInvokeJS(long taskId, string identifier, string? argsJson, JSCallResultType resultType, long targetInstanceId) =>
            throw new NotSupportedException();

        protected override void EndInvokeDotNet(DotNetInvocationInfo invocationInfo, in DotNetInvocationResult invocationResult) =>
            throw new NotSupportedException();
    }
}

/// <summary>One trace as plotly.js holds it, read from its JSON.</summary>
public sealed class TraceState(JsonObject json)
{
    public JsonObject Json { get; } = json;

    public string Name => Json["name"]?.GetValue<string>() ?? "";

    public double[] X => [.. Array("x").Select(v => v!.GetValue<double>())];

    public double?[] Y => [.. Array("y").Select(v => v is null ? (double?)null : v.GetValue<double>())];

    /// <summary>A per-point attribute such as "marker.symbol" or "text"; a single value counts for every point.</summary>
    public string[] Strings(string path) => [.. PerPoint(path).Select(v => v?.GetValue<string>() ?? "")];

    public double[] Numbers(string path) => [.. PerPoint(path).Select(v => v!.GetValue<double>())];

    public override string ToString() => $"{Name}: {Json.ToJsonString()}";

    private IEnumerable<JsonNode?> PerPoint(string path)
    {
        JsonNode? node = Json;
        foreach (var part in path.Split('.'))
        {
            node = node?[part];
        }

        return node is JsonArray values ? values : Enumerable.Repeat(node, X.Length);
    }

    private JsonArray Array(string name) => Json[name] as JsonArray ?? [];
}
