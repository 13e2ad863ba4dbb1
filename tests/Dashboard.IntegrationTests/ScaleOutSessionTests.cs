using System.Net;

namespace Dashboard.IntegrationTests;

/// <summary>Signing in across two web instances behind one address: the Data Protection keys and the session key are shared.</summary>
public sealed class ScaleOutSessionTests(SecuredScaleOutFixture fixture) : IClassFixture<SecuredScaleOutFixture>
{
    [SkippableFact]
    public async Task Login_FormFromAPostedToB_SignsInAndTheCookieWorksOnBoth()
    {
        fixture.SkipWhenUnavailable();

        // One browser, two instances on one host: cookies are per host, not per port, as behind a load balancer.
        var cookies = new CookieContainer();
        using var onA = BrowserSignIn.Browser(fixture.A.BaseAddress, cookies);
        using var onB = BrowserSignIn.Browser(fixture.B.BaseAddress, cookies);

        // The antiforgery token and its cookie are protected with A's keys; B reads them only if the key ring is shared.
        var antiforgery = await BrowserSignIn.AntiforgeryFieldAsync(onA);
        using var login = await onB.PostAsync("login", BrowserSignIn.LoginForm(antiforgery, SecuredScaleOutFixture.Token, returnUrl: "/"));
        Assert.True(login.StatusCode == HttpStatusCode.Redirect, $"B refused A's sign-in form: {(int)login.StatusCode} {await login.Content.ReadAsStringAsync()}");
        var session = cookies.GetAllCookies().Single(c => c.Name == "dashboard_access").Value;

        foreach (var server in new[] { fixture.A, fixture.B })
        {
            using var copy = BrowserSignIn.WithSessionCookie(server.BaseAddress, session);
            using var api = await copy.GetAsync("api/workers");
            Assert.Equal(HttpStatusCode.OK, api.StatusCode);
        }
    }
}
