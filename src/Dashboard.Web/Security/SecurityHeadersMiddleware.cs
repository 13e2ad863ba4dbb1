namespace Dashboard.Web.Security;

/// <summary>
/// Headers every response carries. The content security policy allows what Blazor Server and Plotly need and no more:
/// scripts only from this origin (no inline script, hence no import map in App.razor), inline styles (Plotly and
/// Blazor's reconnect dialog set them), the SignalR WebSocket back to this origin, and data: images for Plotly's mode bar.
/// </summary>
public sealed class SecurityHeadersMiddleware(RequestDelegate next)
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        + "connect-src 'self' ws: wss:; font-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'";

    public Task InvokeAsync(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        return next(context);
    }
}
