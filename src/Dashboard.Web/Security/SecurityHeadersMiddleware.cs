namespace Dashboard.Web.Security;

/// <summary>
/// Headers every response carries. The content security policy allows what Blazor Server and Plotly need and no more:
/// scripts only from this origin (no inline script, hence no import map in App.razor), inline styles (Plotly and
/// Blazor's reconnect dialog set them), the SignalR WebSocket back to this origin only ('self' covers ws: and wss: to the
/// same host; a bare <c>ws:</c> would let an injected script talk to any host), and data: images for Plotly's mode bar.
/// </summary>
public sealed class SecurityHeadersMiddleware(RequestDelegate next)
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        + "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'";

    public Task InvokeAsync(HttpContext context)
    {
        // Set as the response starts, not now: the exception handler clears every header before it writes its 500, and a
        // header set up front would be gone from exactly the responses that carry error text.
        context.Response.OnStarting(static state =>
        {
            var headers = ((HttpResponse)state).Headers;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers.XFrameOptions = "DENY";
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            return Task.CompletedTask;
        }, context.Response);
        return next(context);
    }
}
