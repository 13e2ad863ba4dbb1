using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Dashboard.Runs.Contracts;
using Dashboard.ServerProcess;
using Microsoft.AspNetCore.SignalR.Client;

namespace Dashboard.IntegrationTests;

/// <summary>A dashboard bound to every interface (0.0.0.0) with an access token, as it would be on a shared machine.</summary>
public sealed class SecuredServerFixture : IAsyncLifetime
{
    public const string Token = "integration-test-token-0123456789";

    private DashboardServer? _server;

    public DashboardServer Server => _server ?? throw new InvalidOperationException("The fixture has not started its server.");

    public async Task InitializeAsync() =>
        _server = await DashboardServer.StartAsync(
            new Dictionary<string, string> { ["Security:AccessToken"] = Token, ["Training:Device"] = "cpu" },
            listenHost: "0.0.0.0");

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

public sealed class SecurityTests(SecuredServerFixture fixture) : IClassFixture<SecuredServerFixture>
{
    private readonly DashboardServer _server = fixture.Server;

    [Fact]
    public async Task Start_PublicAddressWithoutToken_RefusesToStart()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => DashboardServer.StartAsync(listenHost: "0.0.0.0"));

        Assert.Contains("Refusing to listen on http://0.0.0.0", error.Message);
        Assert.Contains("Security__AccessToken", error.Message);
    }

    [Fact]
    public async Task Start_ShortToken_RefusesToStart()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => DashboardServer.StartAsync(new Dictionary<string, string> { ["Security:AccessToken"] = "short" }));

        Assert.Contains("at least 16 characters", error.Message);
    }

    [Theory]
    [InlineData("GET", "api/runs")]
    [InlineData("GET", "api/runs/1/metrics")]
    [InlineData("POST", "api/runs")]
    [InlineData("GET", "api/checkpoints/1/export?format=safetensors")]
    [InlineData("POST", "api/checkpoints/1/resume")]
    [InlineData("GET", "openapi/v1.json")]
    public async Task Api_WithoutToken_Answers401Problem(string method, string path)
    {
        using var client = Client(token: null);
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = JsonContent.Create(RunBodies.Spirals(epochs: 1));
        }

        using var response = await client.SendAsync(request);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task Api_WrongToken_Answers401AndCreatesNothing()
    {
        using var wrong = Client(token: SecuredServerFixture.Token + "x");
        using var created = await wrong.PostAsJsonAsync("api/runs", RunBodies.Spirals(epochs: 1, name: "wrong-token"));
        await ProblemAssert.IsProblemAsync(created, HttpStatusCode.Unauthorized);

        using var client = Client(SecuredServerFixture.Token);
        var runs = await client.GetFromJsonAsync<List<RunDto>>("api/runs", DashboardServer.Json);
        Assert.DoesNotContain(runs!, r => r.Name == "wrong-token");
    }

    [Fact]
    public async Task Api_BearerToken_IsServed()
    {
        using var client = Client(SecuredServerFixture.Token);

        using var response = await client.GetAsync("api/runs");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Healthz_WithoutToken_StaysOpen()
    {
        using var client = Client(token: null);

        using var response = await client.GetAsync("healthz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Hub_WithoutToken_CannotConnect()
    {
        await using var connection = new HubConnectionBuilder().WithUrl(new Uri(_server.BaseAddress, "hubs/training")).Build();

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => connection.StartAsync());

        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
    }

    [Fact]
    public async Task Hub_WithAccessToken_ConnectsAndJoins()
    {
        await using var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(_server.BaseAddress, "hubs/training"), o => o.AccessTokenProvider = () => Task.FromResult<string?>(SecuredServerFixture.Token))
            .Build();

        await connection.StartAsync();
        await connection.InvokeAsync("JoinAll");

        Assert.Equal(HubConnectionState.Connected, connection.State);
    }

    [Fact]
    public async Task Page_WithoutToken_RedirectsToLogin()
    {
        using var client = Client(token: null);
        using var request = new HttpRequestMessage(HttpMethod.Get, "runs/7?tab=steps");
        request.Headers.Accept.ParseAdd("text/html");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/login?returnUrl=%2Fruns%2F7%3Ftab%3Dsteps", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Login_RightTokenFromTheForm_SetsAnHttpOnlyCookieThatOpensThePages()
    {
        var cookies = new CookieContainer();
        using var client = Client(token: null, cookies);
        var form = await BrowserSignIn.AntiforgeryFieldAsync(client);

        using var response = await client.PostAsync("login", BrowserSignIn.LoginForm(form, SecuredServerFixture.Token, returnUrl: "/runs/new"));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/runs/new", response.Headers.Location?.OriginalString);
        var setCookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("dashboard_access=", StringComparison.Ordinal));
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(SecuredServerFixture.Token, setCookie);

        using var page = await client.GetAsync("runs/new");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        using var api = await client.GetAsync("api/runs");
        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
    }

    [Fact]
    public async Task Login_WrongToken_ReturnsToTheFormWithoutACookie()
    {
        var cookies = new CookieContainer();
        using var client = Client(token: null, cookies);
        var form = await BrowserSignIn.AntiforgeryFieldAsync(client);

        using var response = await client.PostAsync("login", BrowserSignIn.LoginForm(form, "not-the-token-at-all-000", returnUrl: "/"));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/login?failed=1", response.Headers.Location?.OriginalString);
        Assert.DoesNotContain(cookies.GetAllCookies(), c => c.Name == "dashboard_access");
    }

    [Fact]
    public async Task Login_PostedFromAnotherSite_IsRefused()
    {
        // A cross-site form has neither the antiforgery cookie nor the field: login CSRF must not sign the visitor in.
        using var client = Client(token: null);
        using var body = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = SecuredServerFixture.Token, ["returnUrl"] = "/" });

        using var response = await client.PostAsync("login", body);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.False(response.Headers.TryGetValues("Set-Cookie", out var set) && set.Any(c => c.StartsWith("dashboard_access=", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("https://evil.example/", "/")]
    [InlineData("//evil.example/", "/")]
    [InlineData("/\\evil.example/", "/")]
    [InlineData("/\t/evil.example/", "/")]
    [InlineData("/\r\n/evil.example/", "/")]
    [InlineData("/\t\\evil.example/", "/")]
    [InlineData("/compare?runs=1,2", "/compare?runs=1,2")]
    public async Task Login_ReturnUrl_StaysOnThisSite(string returnUrl, string expected)
    {
        using var client = Client(token: null, new CookieContainer());
        var form = await BrowserSignIn.AntiforgeryFieldAsync(client);

        using var response = await client.PostAsync("login", BrowserSignIn.LoginForm(form, SecuredServerFixture.Token, returnUrl));

        Assert.Equal(expected, response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task LoginPage_ReturnUrlWithATab_IsNotCarriedIntoTheForm()
    {
        // A browser reads "/<tab>/evil.example" as "//evil.example", another site; the form must not carry it on.
        using var client = Client(token: null, new CookieContainer());

        var html = await client.GetStringAsync("login?returnUrl=/%09/evil.example");

        Assert.Contains("""<input type="hidden" name="returnUrl" value="/">""", html);
        Assert.DoesNotContain("evil.example", html);
    }

    [Theory]
    [InlineData("login")]
    [InlineData("healthz")]
    [InlineData("api/runs")]
    public async Task Responses_CarryTheSecurityHeaders(string path)
    {
        using var client = Client(SecuredServerFixture.Token);

        using var response = await client.GetAsync(path);

        var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self'", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.Contains("connect-src 'self';", csp);
        Assert.DoesNotContain("ws:", csp);
        Assert.DoesNotContain("unsafe-eval", csp);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
    }

    private HttpClient Client(string? token, CookieContainer? cookies = null)
    {
        var handler = new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = cookies ?? new CookieContainer(), UseCookies = cookies is not null };
        var client = new HttpClient(handler, disposeHandler: true) { BaseAddress = _server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }
}
