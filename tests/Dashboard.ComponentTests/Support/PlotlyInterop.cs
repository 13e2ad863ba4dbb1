using System.Collections.Concurrent;
using System.Text.Json;
using Bunit;
using Microsoft.JSInterop;
using Microsoft.JSInterop.Infrastructure;
using Plotly.Blazor;
using Plotly.Blazor.Interop;

namespace Dashboard.ComponentTests.Support;

/// <summary>A trace as <c>newPlot</c> hands it to plotly.js.</summary>
public sealed record PlottedTrace(string Name, double[] X, double?[] Y);

/// <summary>One <c>extendTraces</c> call: per trace index, the x and y values appended to it.</summary>
public sealed record TraceExtension(string ChartId, int[] Indices, double[][] X, double?[][] Y);

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
    private readonly ConcurrentQueue<DotNetObjectReference<PlotlyChart>> _clickSubscribers = new();
    private readonly ConcurrentQueue<DotNetObjectReference<PlotlyChart>> _relayoutSubscribers = new();

    private PlotlyInterop(BunitJSModuleInterop module)
    {
        // Loading plotly.js itself has nothing to assert; every other call the chart makes must be one set up here.
        module.SetupVoid("importScript", _ => true).SetVoidResult();
        _plots = new WireRecorder(module, "newPlot", "react");
        _extensions = new WireRecorder(module, "extendTraces");
        module.SetupVoid("subscribeClickEvent", invocation =>
        {
            // Kept, so a test can play the browser's plotly_click back into the chart.
            _clickSubscribers.Enqueue((DotNetObjectReference<PlotlyChart>)invocation.Arguments[0]!);
            return true;
        }).SetVoidResult();
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

    /// <summary>What plotly.js does on a click: calls the chart's ClickEvent with the clicked point.</summary>
    public void Click(double x, double y, int traceIndex = 0)
    {
        var chart = _clickSubscribers.LastOrDefault() ?? throw new InvalidOperationException("No chart subscribed to clicks.");
        chart.Value.ClickEvent([new EventDataPoint { TraceIndex = traceIndex, X = JsonSerializer.SerializeToElement(x), Y = JsonSerializer.SerializeToElement(y) }]);
    }

    public static PlotlyInterop Setup(BunitJSInterop jsInterop) => new(jsInterop.SetupModule(ModulePath));

    /// <summary>Every full draw (<c>newPlot</c> or <c>react</c>) so far, as the list of traces sent.</summary>
    public IReadOnlyList<IReadOnlyList<PlottedTrace>> Plots => [.. _plots.Calls.Select(ReadPlot)];

    /// <summary>The layout sent with each full draw, as JSON.</summary>
    public IReadOnlyList<JsonElement> PlotLayouts => [.. _plots.Calls.Select(arguments => arguments[2])];

    public IReadOnlyList<TraceExtension> Extensions => [.. _extensions.Calls.Select(ReadExtension)];

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

    private static double? ReadNumber(JsonElement value) => value.ValueKind == JsonValueKind.Null ? null : value.GetDouble();

    private sealed class WireRecorder : JSRuntimeInvocationHandler
    {
        private readonly ConcurrentQueue<JsonElement> _calls = new();

        public WireRecorder(BunitJSModuleInterop module, params string[] identifiers)
            : base(invocation => identifiers.Contains(invocation.Identifier), isCatchAllHandler: false)
        {
            SetVoidResult();
            module.AddInvocationHandler(this);
        }

        public IReadOnlyCollection<JsonElement> Calls => _calls;

        protected override Task<IJSVoidResult> HandleAsync(JSRuntimeInvocation invocation)
        {
            _calls.Enqueue(JsonSerializer.SerializeToElement(invocation.Arguments, WireFormat.Options));
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
