using Microsoft.Extensions.Options;

namespace Dashboard.Web.Security;

/// <summary>
/// Keeps other web sites from driving the dashboard through a visitor's browser. Without an access token the dashboard
/// trusts whoever reaches the loopback port, and a browser is such a caller: any page could send a "simple" cross-site
/// POST (stop a run, start a resume) or open a hub's WebSocket, which CORS does not cover. So changing requests and the
/// hubs (the training hub and Blazor's circuit at <c>/_blazor</c>) are refused when the browser says they come from
/// another origin (<c>Origin</c>, <c>Sec-Fetch-Site</c>); scripts send neither header and are unaffected. Without a
/// token, a <c>Host</c> that is not a loopback name is refused too: that is how a DNS-rebinding page would look,
/// same-origin to the browser yet not this machine's name.
/// </summary>
public sealed class CrossSiteGuardMiddleware(RequestDelegate next, IOptions<SecurityOptions> options)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (options.Value.AccessToken.Length == 0 && !BindingGuard.IsLoopback(request.Host.Value ?? ""))
        {
            await RefuseAsync(context, StatusCodes.Status421MisdirectedRequest, "Unknown host",
                $"This dashboard answers to localhost and 127.0.0.1 only, not '{request.Host}'. To serve other names, configure Security:AccessToken.");
            return;
        }

        if (IsGuarded(context) && FromAnotherSite(request))
        {
            await RefuseAsync(context, StatusCodes.Status403Forbidden, "Cross-site request refused",
                "Requests that change something must come from the dashboard's own pages or from a script, not from another web site.");
            return;
        }

        await next(context);
    }

    /// <summary>
    /// Changing requests, and every request to a live connection: the training hub and Blazor's own circuit hub
    /// (<c>/_blazor</c>, whose WebSocket drives the pages' buttons), plus any other WebSocket upgrade, since a
    /// WebSocket's GET is exactly the request CORS never checks.
    /// </summary>
    private static bool IsGuarded(HttpContext context)
    {
        var request = context.Request;
        return !HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method) && !HttpMethods.IsOptions(request.Method)
            || request.Path.StartsWithSegments("/hubs")
            || request.Path.StartsWithSegments("/_blazor")
            || context.WebSockets.IsWebSocketRequest;
    }

    private static bool FromAnotherSite(HttpRequest request)
    {
        // A browser's own word, which no script can set, is taken first: under this site's Referrer-Policy no-referrer a
        // browser posts the dashboard's own forms with "Origin: null" beside "Sec-Fetch-Site: same-origin". Only "none"
        // (typed or bookmarked) and "same-origin" pass; anything else, unknown values included, is another site.
        var fetchSite = request.Headers["Sec-Fetch-Site"].ToString();
        if (fetchSite.Length > 0)
        {
            return fetchSite is not ("same-origin" or "none");
        }

        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            return false;
        }

        return !Uri.TryCreate(origin, UriKind.Absolute, out var parsed)
            || !string.Equals(parsed.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase)
            || !string.Equals(parsed.Scheme, request.Scheme, StringComparison.OrdinalIgnoreCase);
    }

    private static Task RefuseAsync(HttpContext context, int status, string title, string detail) =>
        Results.Problem(statusCode: status, title: title, detail: detail).ExecuteAsync(context);
}
