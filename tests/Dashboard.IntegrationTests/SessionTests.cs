using System.Net;
using System.Security.Cryptography;
using System.Text;
using Dashboard.ServerProcess;

namespace Dashboard.IntegrationTests;

/// <summary>The browser's sign-in cookie: a session of its own, ended by sign-out, tied to the token of the day.</summary>
public sealed class SessionTests(SecuredServerFixture fixture) : IClassFixture<SecuredServerFixture>
{
    private readonly DashboardServer _server = fixture.Server;

    [Fact]
    public async Task Cookie_ComputedFromTheTokenAlone_IsRefused()
    {
        // The cookie this dashboard once set: a fixed hash of the token, the same for every browser and never ending.
        var fixedHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("dashboard-cookie:" + SecuredServerFixture.Token)));
        using var client = BrowserSignIn.WithSessionCookie(_server.BaseAddress, fixedHash);

        using var response = await client.GetAsync("api/runs");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task SignIn_TwoBrowsers_GetDifferentSessions()
    {
        var first = await SignInAsync();
        using var firstBrowser = first.Client;
        var second = await SignInAsync();
        using var secondBrowser = second.Client;

        Assert.NotEqual(first.Cookie, second.Cookie);
        Assert.DoesNotContain(SecuredServerFixture.Token, first.Cookie);
    }

    [Fact]
    public async Task Logout_FromThePagesSignOutForm_EndsTheSessionForACopiedCookieToo()
    {
        var (client, cookies, cookie) = await SignInAsync();
        using var browser = client;
        using var copy = BrowserSignIn.WithSessionCookie(_server.BaseAddress, cookie);
        using (var before = await copy.GetAsync("api/runs"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        // The sign-out button sits in every page's top bar, in a form with its antiforgery field.
        var antiforgery = await BrowserSignIn.SignOutFieldAsync(client, "compare");
        using var response = await client.PostAsync("logout", new FormUrlEncodedContent(new Dictionary<string, string> { [antiforgery.Field] = antiforgery.Value }));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/login", response.Headers.Location?.OriginalString);
        Assert.DoesNotContain(cookies.GetAllCookies(), c => c.Name == "dashboard_access" && !c.Expired);
        using var after = await copy.GetAsync("api/runs");
        await ProblemAssert.IsProblemAsync(after, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Logout_WithoutTheAntiforgeryField_IsRefusedAndTheSessionLives()
    {
        // Otherwise any site could sign a visitor out.
        var (client, _, cookie) = await SignInAsync();
        using var browser = client;

        using var response = await client.PostAsync("logout", new FormUrlEncodedContent(new Dictionary<string, string>()));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        using var copy = BrowserSignIn.WithSessionCookie(_server.BaseAddress, cookie);
        using var api = await copy.GetAsync("api/runs");
        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
    }

    [Fact]
    public async Task Session_AfterARestart_LastsUntilTheTokenChangesAndASignOutStays()
    {
        const string token = "session-test-token-0123456789";
        await using var server = await DashboardServer.StartAsync(new Dictionary<string, string> { ["Security:AccessToken"] = token, ["Training:Device"] = "cpu" });
        var cookies = new CookieContainer();
        var leftCookies = new CookieContainer();
        using (var browser = Browser(server.BaseAddress, cookies))
        using (var left = Browser(server.BaseAddress, leftCookies))
        {
            var cookie = await BrowserSignIn.SignInAsync(browser, cookies, token);
            var signedOut = await BrowserSignIn.SignInAsync(left, leftCookies, token);
            var antiforgery = await BrowserSignIn.SignOutFieldAsync(left, "compare");
            using (var logout = await left.PostAsync("logout", new FormUrlEncodedContent(new Dictionary<string, string> { [antiforgery.Field] = antiforgery.Value })))
            {
                Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);
            }

            await server.StopAsync();
            await server.RestartAsync();
            Assert.Equal(HttpStatusCode.OK, await StatusWithCookieAsync(server, cookie));
            Assert.Equal(HttpStatusCode.Unauthorized, await StatusWithCookieAsync(server, signedOut));

            await server.StopAsync();
            await server.RestartAsync(new Dictionary<string, string> { ["Security:AccessToken"] = token + "-changed" });
            Assert.Equal(HttpStatusCode.Unauthorized, await StatusWithCookieAsync(server, cookie));
        }
    }

    private async Task<(HttpClient Client, CookieContainer Cookies, string Cookie)> SignInAsync()
    {
        var cookies = new CookieContainer();
        var client = Browser(_server.BaseAddress, cookies);
        return (client, cookies, await BrowserSignIn.SignInAsync(client, cookies, SecuredServerFixture.Token));
    }

    private static HttpClient Browser(Uri baseAddress, CookieContainer cookies) => BrowserSignIn.Browser(baseAddress, cookies);

    private static async Task<HttpStatusCode> StatusWithCookieAsync(DashboardServer server, string cookie)
    {
        using var client = BrowserSignIn.WithSessionCookie(server.BaseAddress, cookie);
        using var response = await client.GetAsync("api/runs");
        return response.StatusCode;
    }
}
