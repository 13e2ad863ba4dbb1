using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Dashboard.Web.Security;

/// <summary>
/// With an access token configured, lets through only requests that carry it: a bearer header (scripts), an
/// <c>access_token</c> query parameter on the hub (how SignalR sends it over WebSockets), or a session cookie set by
/// <c>/login</c>. The health probe, the sign-in and sign-out forms and static files stay open; they reveal nothing.
/// </summary>
public sealed class AccessTokenMiddleware(RequestDelegate next, IOptions<SecurityOptions> options, SessionCookies sessions)
{
    public const string CookieName = "dashboard_access";

    private static readonly object SignedInKey = new();

    public async Task InvokeAsync(HttpContext context)
    {
        var token = options.Value.AccessToken;
        var signedIn = token.Length == 0 || Presented(context.Request, token);
        if (signedIn)
        {
            // Open routes answer everyone but may tell a signed-in caller more (the health probe's details).
            context.Items[SignedInKey] = true;
        }

        if (signedIn || IsOpen(context.Request.Path))
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

    /// <summary>
    /// Whether the request carried the access token, a bearer header or a live session; always true without a token,
    /// where whoever reaches the loopback port is trusted.
    /// </summary>
    public static bool IsSignedIn(HttpContext context) => context.Items.ContainsKey(SignedInKey);

    public static bool Matches(string? presented, string expected) =>
        presented is not null
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(expected));

    private static bool IsOpen(PathString path) =>
        path == "/healthz" || path == "/login" || path == "/logout" || path == "/favicon.svg" || path == "/app.css"
        || path.StartsWithSegments("/_framework") || path.StartsWithSegments("/_content");

    private bool Presented(HttpRequest request, string token)
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

        return sessions.IsValid(request.Cookies[CookieName]);
    }

    private static bool AcceptsHtml(HttpRequest request) =>
        HttpMethods.IsGet(request.Method) && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);
}
