using System.Net;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.Extensions.Options;

namespace Dashboard.Web.Security;

/// <summary><c>/login</c>: a browser trades the access token for an HttpOnly session cookie; <c>/logout</c> ends it.</summary>
public static class LoginEndpoints
{
    public static IEndpointRouteBuilder MapLoginEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/login", (HttpContext context, IAntiforgery antiforgery, string? returnUrl, string? failed) =>
                Results.Content(Page(antiforgery.GetAndStoreTokens(context), returnUrl, failed is not null), "text/html; charset=utf-8"))
            .ExcludeFromDescription();

        // The form is read by hand, so the antiforgery check that form binding would add is made here; without it another
        // site could sign a visitor in with a token of its choosing (login CSRF).
        app.MapPost("/login", async (HttpContext context, IAntiforgery antiforgery, IOptions<SecurityOptions> options, SessionCookies sessions) =>
        {
            if (!await antiforgery.IsRequestValidAsync(context))
            {
                return Results.Problem(statusCode: 400, title: "Bad request", detail: "The sign-in form has expired or did not come from this site; reload /login and try again.");
            }

            var form = await context.Request.ReadFormAsync();
            var returnUrl = LocalOnly(form["returnUrl"]);
            var token = options.Value.AccessToken;
            if (token.Length == 0 || !AccessTokenMiddleware.Matches(form["token"].ToString(), token))
            {
                return Results.Redirect($"/login?failed=1&returnUrl={WebUtility.UrlEncode(returnUrl)}");
            }

            var (session, expires) = sessions.Issue();
            context.Response.Cookies.Append(AccessTokenMiddleware.CookieName, session, new CookieOptions
            {
                HttpOnly = true,
                SameSite = SameSiteMode.Strict,
                Secure = context.Request.IsHttps,
                Expires = expires,
            });
            return Results.Redirect(returnUrl);
        }).ExcludeFromDescription();

        // Sign-out ends the session on the server as well as in this browser: a copy of the cookie stops working too. A
        // POST with the antiforgery field, so another site cannot sign a visitor out either.
        app.MapPost("/logout", async (HttpContext context, IAntiforgery antiforgery, SessionCookies sessions) =>
        {
            if (!await antiforgery.IsRequestValidAsync(context))
            {
                return Results.Problem(statusCode: 400, title: "Bad request", detail: "The sign-out form has expired or did not come from this site; reload the page and try again.");
            }

            sessions.Revoke(context.Request.Cookies[AccessTokenMiddleware.CookieName]);
            context.Response.Cookies.Delete(AccessTokenMiddleware.CookieName, new CookieOptions
            {
                HttpOnly = true,
                SameSite = SameSiteMode.Strict,
                Secure = context.Request.IsHttps,
            });
            return Results.Redirect("/login");
        }).ExcludeFromDescription();

        return app;
    }

    /// <summary>
    /// Only paths on this site; anything else would make the login page an open redirect. Browsers drop tabs and line
    /// breaks from a URL before reading it, so <c>/&lt;tab&gt;/evil.example</c> is <c>//evil.example</c> to them: no control
    /// character is allowed anywhere, and the second character may be neither slash (rules as ASP.NET Core's IsLocalUrl).
    /// </summary>
    private static string LocalOnly(string? url) =>
        url is { Length: > 0 } && url[0] == '/'
        && (url.Length == 1 || (url[1] != '/' && url[1] != '\\'))
        && !url.Any(char.IsControl)
            ? url
            : "/";

    private static string Page(AntiforgeryTokenSet antiforgery, string? returnUrl, bool failed) => $$"""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Sign in · Training dashboard</title><link rel="stylesheet" href="/app.css"></head>
        <body><main class="content"><form method="post" action="/login" class="form-card" style="max-width:420px">
        <h1>Sign in</h1>
        <p class="muted">This dashboard needs its access token.</p>
        {{(failed ? "<p class=\"notice error\">That token is not right.</p>" : "")}}
        <input type="hidden" name="{{WebUtility.HtmlEncode(antiforgery.FormFieldName)}}" value="{{WebUtility.HtmlEncode(antiforgery.RequestToken)}}">
        <input type="hidden" name="returnUrl" value="{{WebUtility.HtmlEncode(LocalOnly(returnUrl))}}">
        <div class="form-grid"><label>Access token <input type="password" name="token" autofocus required></label></div>
        <div class="form-actions"><button class="button primary" type="submit">Sign in</button></div>
        </form></main></body></html>
        """;
}
