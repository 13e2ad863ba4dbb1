using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Dashboard.Web.Security;

/// <summary>
/// With an access token configured, lets through only requests that carry it: a bearer header (scripts), an
/// <c>access_token</c> query parameter on the hub (how SignalR sends it over WebSockets), or the cookie set by
/// <c>/login</c>. The health probe, the login page and static files stay open; they reveal nothing.
/// </summary>
public sealed class AccessTokenMiddleware(RequestDelegate next, IOptions<SecurityOptions> options)
{
    public const string CookieName = "dashboard_access";

    public async Task InvokeAsync(HttpContext context)
    {
        var token = options.Value.AccessToken;
        if (token.Length == 0 || IsOpen(context.Request.Path) || Presented(context.Request, token))
        {
            await next(context);
            return;
        }

        if (AcceptsHtml(context.Request))
        {
            context.Response.Redirect($"/login?returnUrl={WebUtility.UrlEncode(context.Request.Path + context.Request.QueryString)}");
            return;
        }

        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Bearer";
        await Results.Problem(statusCode: 401, title: "Unauthorized", detail: "Send the access token as 'Authorization: Bearer <token>'.").ExecuteAsync(context);
    }

    /// <summary>The cookie holds a hash of the token, never the token itself.</summary>
    public static string CookieValue(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("dashboard-cookie:" + token)));

    public static bool Matches(string? presented, string expected) =>
        presented is not null
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(expected));

    private static bool IsOpen(PathString path) =>
        path == "/healthz" || path == "/login" || path == "/favicon.svg" || path == "/app.css"
        || path.StartsWithSegments("/_framework") || path.StartsWithSegments("/_content");

    private static bool Presented(HttpRequest request, string token)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && Matches(header["Bearer ".Length..].Trim(), token))
        {
            return true;
        }

        if (request.Path.StartsWithSegments("/hubs") && Matches(request.Query["access_token"].ToString(), token))
        {
            return true;
        }

        return Matches(request.Cookies[CookieName], CookieValue(token));
    }

    private static bool AcceptsHtml(HttpRequest request) =>
        HttpMethods.IsGet(request.Method) && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);
}
