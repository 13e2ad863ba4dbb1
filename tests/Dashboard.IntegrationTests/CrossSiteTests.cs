using System.Net;
using System.Net.WebSockets;
using Dashboard.ServerProcess;

namespace Dashboard.IntegrationTests;

/// <summary>The default set-up (loopback, no token) against what another web site could make a visitor's browser send.</summary>
[Collection(RequestOnlyCollection.Name)]
public sealed class CrossSiteTests(DashboardServerFixture fixture)
{
    private const string UnknownRunStop = "api/runs/987654/stop";

    private readonly DashboardServer _server = fixture.Server;

    [Theory]
    [InlineData("Origin", "https://evil.example")]
    [InlineData("Origin", "http://127.0.0.1:1")]
    [InlineData("Origin", "null")]
    [InlineData("Sec-Fetch-Site", "cross-site")]
    [InlineData("Sec-Fetch-Site", "same-site")]
    public async Task Post_FromAnotherSite_Answers403BeforeActing(string header, string value)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, UnknownRunStop);
        request.Headers.TryAddWithoutValidation(header, value);

        using var response = await _server.Client.SendAsync(request);

        // 403 rather than the 404 the unknown run would get: the request never reached the route.
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Contains("another web site", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task BlazorNegotiate_FromAnotherSite_Answers403()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "_blazor/negotiate?negotiateVersion=1");
        request.Headers.TryAddWithoutValidation("Origin", "https://evil.example");

        using var response = await _server.Client.SendAsync(request);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Post_FromTheDashboardsOwnPage_IsServed()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, UnknownRunStop);
        request.Headers.TryAddWithoutValidation("Origin", _server.BaseAddress.GetLeftPart(UriPartial.Authority));
        request.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "same-origin");

        using var response = await _server.Client.SendAsync(request);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Post_FromTheDashboardsOwnFormUnderNoReferrer_IsServed()
    {
        // What Chromium sends for a form on a page served with Referrer-Policy: no-referrer: an opaque origin, yet
        // "same-origin" in its own header. Refusing it made the sign-in form unusable in a real browser.
        using var request = new HttpRequestMessage(HttpMethod.Post, UnknownRunStop);
        request.Headers.TryAddWithoutValidation("Origin", "null");
        request.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "same-origin");

        using var response = await _server.Client.SendAsync(request);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Post_FromAScript_IsServed()
    {
        using var response = await _server.Client.PostAsync(UnknownRunStop, content: null);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("rebound.example:5000")]
    public async Task Request_ForAnotherHostName_Answers421(string host)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/runs");
        request.Headers.Host = host;

        using var response = await _server.Client.SendAsync(request);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.MisdirectedRequest);
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("127.0.0.1")]
    [InlineData("[::1]")]
    public async Task Request_ForALoopbackName_IsServed(string host)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "healthz");
        request.Headers.Host = $"{host}:{_server.BaseAddress.Port}";

        using var response = await _server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("hubs/training", "Origin", "https://evil.example")]
    [InlineData("_blazor", "Origin", "https://evil.example")]
    [InlineData("_blazor", "Sec-Fetch-Site", "cross-site")]
    public async Task HubWebSocket_FromAnotherSite_IsRefused(string path, string header, string value)
    {
        // Blazor's circuit hub accepts a WebSocket without a negotiate step first (SignalR's skipNegotiation), so the
        // upgrade itself must be refused, not only the POSTs around it.
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader(header, value);
        var hub = new UriBuilder(_server.BaseAddress) { Scheme = "ws", Path = path }.Uri;

        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(hub, CancellationToken.None));

        Assert.Equal(HttpStatusCode.Forbidden, socket.HttpStatusCode);
    }

    [Theory]
    [InlineData("hubs/training")]
    [InlineData("_blazor")]
    public async Task HubWebSocket_FromTheDashboard_Connects(string path)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Origin", _server.BaseAddress.GetLeftPart(UriPartial.Authority));
        var hub = new UriBuilder(_server.BaseAddress) { Scheme = "ws", Path = path }.Uri;

        await socket.ConnectAsync(hub, CancellationToken.None);

        Assert.Equal(WebSocketState.Open, socket.State);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }
}
