using System.Net;
using System.Text.RegularExpressions;

namespace Dashboard.IntegrationTests;

/// <summary>What a browser does with the dashboard's forms: read the antiforgery field from a page, post the form back.</summary>
internal static partial class BrowserSignIn
{
    /// <summary>The antiforgery field of the form on <paramref name="path"/> (the sign-in page, or any page's sign-out form).</summary>
    public static async Task<(string Field, string Value)> AntiforgeryFieldAsync(HttpClient client, string path = "login")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/html");
        using var response = await client.SendAsync(request);
        var html = await response.Content.ReadAsStringAsync();
        var field = AntiforgeryField().Match(html);
        Assert.True(field.Success, $"{path} ({(int)response.StatusCode}) carries no antiforgery field: {html}");
        return (WebUtility.HtmlDecode(field.Groups["name"].Value), WebUtility.HtmlDecode(field.Groups["value"].Value));
    }

    /// <summary>The antiforgery field of the sign-out form in the top bar of the page at <paramref name="path"/>.</summary>
    public static async Task<(string Field, string Value)> SignOutFieldAsync(HttpClient client, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/html");
        using var response = await client.SendAsync(request);
        var html = await response.Content.ReadAsStringAsync();
        var form = html.IndexOf("""<form method="post" action="logout" """, StringComparison.Ordinal);
        Assert.True(form >= 0, $"{path} ({(int)response.StatusCode}) has no sign-out form: {html}");
        var field = AntiforgeryField().Match(html, form);
        Assert.True(field.Success && html.IndexOf("</form>", form, StringComparison.Ordinal) > field.Index, $"The sign-out form on {path} carries no antiforgery field: {html}");
        return (WebUtility.HtmlDecode(field.Groups["name"].Value), WebUtility.HtmlDecode(field.Groups["value"].Value));
    }

    public static FormUrlEncodedContent LoginForm((string Field, string Value) antiforgery, string token, string returnUrl) =>
        new(new Dictionary<string, string> { [antiforgery.Field] = antiforgery.Value, ["token"] = token, ["returnUrl"] = returnUrl });

    /// <summary>Signs in through the form; returns the session cookie's value.</summary>
    public static async Task<string> SignInAsync(HttpClient client, CookieContainer cookies, string token)
    {
        var antiforgery = await AntiforgeryFieldAsync(client);
        using var response = await client.PostAsync("login", LoginForm(antiforgery, token, returnUrl: "/"));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return cookies.GetAllCookies().Single(c => c.Name == "dashboard_access").Value;
    }

    /// <summary>A browser's client: keeps the cookies it is given in <paramref name="cookies"/> and follows no redirect.</summary>
    public static HttpClient Browser(Uri baseAddress, CookieContainer cookies) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = cookies, UseCookies = true }, disposeHandler: true)
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };

    /// <summary>A client that sends only <paramref name="cookie"/> as the session, as a copy of the cookie taken elsewhere would.</summary>
    public static HttpClient WithSessionCookie(Uri baseAddress, string cookie)
    {
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }, disposeHandler: true)
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
        client.DefaultRequestHeaders.Add("Cookie", $"dashboard_access={cookie}");
        return client;
    }

    // The login page writes `<input … >`, Blazor's AntiforgeryToken component `<input … />`.
    [GeneratedRegex("""<input type="hidden" name="(?<name>__RequestVerificationToken[^"]*)" value="(?<value>[^"]+)"\s*/?>""")]
    private static partial Regex AntiforgeryField();
}
